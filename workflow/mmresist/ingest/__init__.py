"""Reading VCF/BCF files: annotation layouts, allele depths and built-in annotation."""
