"""Clinical reasoning over a patient's variants, copy number and clinical tables."""
