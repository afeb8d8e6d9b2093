"""Extract the reference lists from the seed notices into data/reference/*.json.

Kept as a tool so that the data files can be regenerated and reviewed against the notice text;
the service itself only reads the JSON files.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def first_batch(text: str) -> list[dict]:
    """Rows of 附件1: '序号<TAB>集团名称<TAB>牵头单位 [牵头单位2]'."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(\d{1,3})\t(\S+)\t(.+)$", line.strip("\n"))
        if m:
            rows.append(
                {
                    "seq": int(m.group(1)),
                    "name": m.group(2),
                    "lead_units": m.group(3).split(),
                }
            )
    return rows


def liaoning(text: str) -> list[dict]:
    """Rows of the 辽教办〔2018〕99号 annex table (a lead-school cell may wrap onto the next line)."""
    part = text.split("省级职教集团名称及牵头学校", 1)[1]
    rows: list[dict] = []
    for line in part.splitlines():
        m = re.match(r"^-?\s*\|\s*(\d+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*(\|)?\s*$", line)
        if m:
            seq = int(m.group(1))
            rows.append({"id": f"ln-{seq:02d}", "seq": seq, "name": m.group(2), "lead_schools": [m.group(3)]})
            continue
        m = re.match(r"^(\S+)\s*\|\s*$", line)
        if m and rows:
            rows[-1]["lead_schools"].append(m.group(1))
    return rows


def main(seed: str) -> None:
    text = Path(seed).read_text(encoding="utf-8")
    out = ROOT / "data" / "reference"
    fb = first_batch(text)
    ln = liaoning(text)
    (out / "first_batch_groups.json").write_text(
        json.dumps({"source": "教职成司函〔2020〕33号 附件1", "groups": fb}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (out / "liaoning_groups.json").write_text(
        json.dumps({"source": "辽教办〔2018〕99号 附件", "groups": ln}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(len(fb), len(ln))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "seeds" / "000_dc279a758713c14f.txt"))
