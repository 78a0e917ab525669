"""The demo agents that ship with Bureau: useful with no LLM and no network.

`bureau serve` loads this module (`--agents bureau.agents`): csv-analyst, doc-digest, and
brief-writer, which delegates to the other two in parallel.
"""

from bureau.agents.brief_writer import brief_writer
from bureau.agents.csv_analyst import csv_analyst
from bureau.agents.doc_digest import doc_digest

AGENTS = [csv_analyst, doc_digest, brief_writer]

__all__ = ["AGENTS", "brief_writer", "csv_analyst", "doc_digest"]
