"""Realistic documents for the doc-digest goal table: a project report in markdown, meeting
notes with action items and dates, an HTML policy page, a second report to compare, an
unrelated memo, and inputs that are not documents at all."""

from __future__ import annotations

import base64

REPORT_MD = """# Solar pilot: first-year report

The Riverside solar pilot put rooftop panels on 40 municipal buildings in 2023. The panels
produced 1,250 MWh over the year, which covered 38 percent of the buildings' electricity use.
This exceeded the target set by the city council.

## Results

Summer output was three times winter output. However, the winter months still covered a
fifth of the demand. These results match the forecast from the Northgate Energy Agency.
Battery storage at the library shifted 12 percent of the daily output into the evening peak.

## Costs

The pilot cost 2.1 million euros, of which the regional grant paid 45 percent. Maintenance
costs stayed below 30,000 euros a year. As mentioned above, the grant ends in 2025.
It will need a new funding source.

## Lessons

Roof surveys took longer than planned. Old roofs on three schools had to be repaired before
installation. Procurement in one batch lowered the panel price by 18 percent. Maria Lopez,
who led the pilot, recommends surveying every roof before the next tender.

## Next steps

Will the council extend the pilot to private homes? The energy office must publish the full
dataset by March 31, 2024. A second tender should start in Q3 2024.
"""

REPORT_V2_MD = """# Solar pilot: second-year report

The Riverside solar pilot added heat pumps to 12 municipal buildings in 2024. The panels
produced 1,310 MWh over the year.

## Results

Heat pumps raised winter electricity use by 22 percent. Battery storage at the library
shifted 15 percent of the daily output into the evening peak.

## Costs

The regional grant ended in 2025. Maintenance costs stayed below 32,000 euros a year.

## Community feedback

Residents asked for a community solar cooperative. The council will vote on it in June 2025.
"""

MEETING_NOTES = """# Product sync, 2024-05-14

Attendees: Priya Raman, Tom Becker, Lena Fischer (Acme Corp)

## Decisions

The beta launch moves to June 3, 2024. Pricing stays at 49 euros per seat for the first year.

## Discussion

Support tickets rose 30 percent after the April release. Acme Corp wants single sign-on
before they sign. Do we support SAML in the beta? Who owns the migration guide?

## Action items

- TODO: Priya to draft the migration guide by 2024-05-24.
- Tom must fix the export bug before the beta launch.
- Action: Lena will send the contract to Acme Corp on Friday.
- The team should review the support backlog every Monday.

## Next meeting

The next sync is on May 21, 2024 at 10:00.
"""

POLICY_HTML = """<!doctype html>
<html><head><title>Remote work policy</title>
<style>body { font-family: sans-serif }</style>
<script>window.tracking = "remote-policy";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/hr">HR</a></nav>
<h1>Remote work policy</h1>
<p>Employees may work remotely up to three days a week. Teams agree on two shared office
days so that meetings happen in person.</p>
<h2>Equipment</h2>
<p>The company provides a laptop and a monitor for home offices. Employees can claim up to
300 euros a year for office furniture.</p>
<h2>Security</h2>
<p>All remote connections must use the company VPN. Lost laptops must be reported to the IT
desk within 24 hours.</p>
<h2>Travel</h2>
<p>Working from abroad needs approval from HR for stays longer than 30 days.</p>
</body></html>
"""

UNRELATED_MEMO = """Memo: kitchen rota

The office kitchen will be cleaned by a different team each week. The rota is posted on the
fridge. Please label food with your name and the date.
"""

CSV_TABLE = "region,month,revenue\nNorth,2024-01,1000\nSouth,2024-01,1200\nEast,2024-01,900\n"
JSON_DATA = '{"title": "Solar pilot", "buildings": 40, "output_mwh": 1250}'
BASE64_BLOB = base64.b64encode(bytes(range(256)) * 4).decode()
BINARY_TEXT = "PK\x03\x04\x14\x00\x00\x00\x08\x00" + "\x00\x01\x02" * 50
