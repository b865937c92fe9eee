"""Dates as people on the pages and in the PDFs read them, in English.

Day first, month in letters, four-digit year ("16 Jan 2026"): read the same way
by day-first and month-first readers, where "12/10/2026" is read both ways.
Times on the 24-hour clock ("14:30"), as court summonses give them. One format
per kind: the short and the long forms are the same. CSV and XLSX files keep
ISO 8601 (2026-01-16, 2026-01-16 14:30), which spreadsheets read as dates.
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
