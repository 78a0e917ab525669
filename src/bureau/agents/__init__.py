"""The demo agents that ship with Bureau.

`bureau serve` loads this module (`--agents bureau.agents`): csv-analyst, doc-digest, and
brief-writer, which delegates to the other two in parallel, work with no LLM and no
network (csv-analyst and doc-digest read goals with the model `default` when one is
configured); researcher and support-triage need the model `default` (`BUREAU_LLM_MODELS`)
and are published either way: the catalog says whether this deployment has it.
"""

from bureau.agents.brief_writer import brief_writer
from bureau.agents.csv_analyst import csv_analyst
from bureau.agents.doc_digest import doc_digest
from bureau.agents.researcher import researcher
from bureau.agents.triage import support_triage

AGENTS = [csv_analyst, doc_digest, brief_writer, researcher, support_triage]

__all__ = ["AGENTS", "brief_writer", "csv_analyst", "doc_digest", "researcher", "support_triage"]
