"""Assembling report.json and rendering the HTML and PDF reports."""
