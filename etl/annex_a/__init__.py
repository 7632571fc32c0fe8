"""Ofsted ILACS Annex A workbooks: read one into the extract contract's tables, and write one from the warehouse.

`convert_workbook` turns a workbook into a contract extract folder that the normal loader validates and
publishes (`load_extract` does this for an .xlsx path); `export_annex_a` writes Lists 1 to 9.
"""

from etl.annex_a.mapping import SOURCE_SYSTEM, MappingIssue, convert_workbook
from etl.annex_a.reader import AnnexAError

__all__ = ["SOURCE_SYSTEM", "AnnexAError", "MappingIssue", "convert_workbook"]
