"""Dates as people on the pages and in the PDFs read them, in Khmer: the month
by its Khmer name ("16 មករា 2026"), never as a number; times on the 24-hour
clock ("14:30"), with two-digit hours as in English. See config/formats/en."""

DATE_FORMAT = "j F Y"
SHORT_DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATETIME_FORMAT = "j F Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
