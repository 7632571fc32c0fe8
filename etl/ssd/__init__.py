"""The Standard Safeguarding Dataset (SSD) as a source: its tables onto the extract contract's.

`convert_ssd_folder` turns a folder of `ssd_*.csv` files into a contract extract the normal loader
checks and publishes (`load_extract` does this for such a folder), and reports its rejects and warnings
by SSD table, row and field; `pull_ssd_database` reads the SSD from a database into such a folder.
The mapping is ../shared/spec/ssd-source.md; docs/ssd.md says what an authority does and what the SSD
cannot give.
"""

from etl.ssd.convert import SOURCE_SYSTEM, SsdConversion, convert_ssd_folder
from etl.ssd.database import describe, pull_ssd_database, ssd_tables_present
from etl.ssd.options import SsdOptions, SsdOptionsError, read_options
from etl.ssd.reader import SsdError, find_ssd_files, is_ssd_folder
from etl.ssd.tables import REQUIRED_TABLES, SSD_TABLES

__all__ = [
    "REQUIRED_TABLES",
    "SOURCE_SYSTEM",
    "SSD_TABLES",
    "SsdConversion",
    "SsdError",
    "SsdOptions",
    "SsdOptionsError",
    "convert_ssd_folder",
    "describe",
    "find_ssd_files",
    "is_ssd_folder",
    "pull_ssd_database",
    "read_options",
    "ssd_tables_present",
]
