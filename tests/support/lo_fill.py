#!/usr/bin/python3
"""Fill generated forms in LibreOffice by their visible labels, as a person would, and save them.

Runs under Debian's /usr/bin/python3 (python3-uno), not the project venv:

    /usr/bin/python3 tests/support/lo_fill.py SPEC.json

SPEC.json::

    {"profile": "/tmp/x/profile", "timeout": 240, "jobs": [
      {"src": "/path/in.docx", "fills": [...], "paste_into_new": false,
       "outputs": [{"path": "/path/out.docx", "filter": "MS Word 2007 XML"}]}]}

Writer fill ops (label cells in tables, heading paragraphs):
  {"label": L, "value": V}                 replace the text of the cell right of the cell L
  {"label": L, "value": V, "below": true}  replace the text of the cell below the cell L
  {"heading": H, "value": V}               cell H -> the cell below it; paragraph H -> the next paragraph
  {"table": [h1, h2], "rows": [[..], ..], "delete_extra": bool}
                                           write rows under the header row holding h1, h2, ...
  {"append_in_cell": L, "value": V}        type V at the end of the cell right of the cell L
Calc fill ops (first sheet unless "sheet" is given):
  {"label": L, "value": V}                 type V into the first cell right of L's merged area
  {"table": [h1, ..], "rows": [[..], ..], "delete_extra": bool}
  {"add_sheet": name, "cells": {"A1": V, ..}}
  Calc values are typed (cell.FormulaLocal: parsed like the input line, so a Text-formatted "@" cell keeps
  "2020-06-01" as text and a General cell makes it a date); "as": "string" (setString) or "formula"
  (setFormula) on an op overrides that.

"timeout" (seconds, default 600): a watchdog kills soffice and exits 3 when the whole run takes longer.

Labels match after removing all whitespace and one trailing "：" or ":". A "\\n" in a Writer value is a new
paragraph. A label, heading or table that is not found (or found twice) is an error: exit status 2.
soffice is started once for all jobs and always killed (its whole process group) at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import uno  # Debian python3-uno: only importable under /usr/bin/python3
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.text.ControlCharacter import PARAGRAPH_BREAK

HERE = Path(__file__).resolve().parent
FONTS_CONF = HERE.parents[1] / "config" / "fonts.conf"
CONNECT_TIMEOUT = 60.0
SEQ_HEADER = "序号"
VERBOSE = bool(os.environ.get("LO_FILL_VERBOSE"))  # log every op and let soffice's output through


class FillError(Exception):
    """A fill could not be done as asked (label missing, ambiguous, ...)."""


def norm(text: str) -> str:
    """Label comparison key: no whitespace (incl. U+3000), no trailing full/half-width colon."""
    text = re.sub(r"\s+", "", text or "")
    return text[:-1] if text.endswith(("：", ":")) else text


def near(key: str, texts) -> str:
    """ ' (similar: ...)' for an error message, listing texts that contain the wanted label."""
    key = norm(key)
    similar = sorted({t.strip() for t in texts if key and key in norm(t)})[:5]
    return f" (similar: {', '.join(map(repr, similar))})" if similar else ""


def props(**kw) -> tuple:
    out = []
    for name, value in kw.items():
        p = PropertyValue()
        p.Name, p.Value = name, value
        out.append(p)
    return tuple(out)


def log(msg: str) -> None:
    print(f"lo_fill: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------- soffice


class Office:
    """One headless soffice in its own process group, connected over a named pipe."""

    def __init__(self, profile: Path):
        self.pipe = f"lo_fill_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        profile.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
        quiet = None if VERBOSE else subprocess.DEVNULL  # soffice's own output
        self.proc = subprocess.Popen(
            ["soffice", "--headless", "--invisible", "--norestore", "--nologo",
             f"-env:UserInstallation={profile.resolve().as_uri()}", f"--accept=pipe,name={self.pipe};urp;"],
            stdin=subprocess.DEVNULL, stdout=quiet, stderr=quiet, env=env, start_new_session=True,
        )
        self.desktop = None

    def connect(self) -> None:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if self.proc.poll() is not None:
                    raise FillError(f"soffice exited with status {self.proc.returncode} before accepting") from None
                if time.monotonic() > deadline:
                    raise FillError(f"soffice did not accept a connection within {CONNECT_TIMEOUT:.0f} s") from None
                time.sleep(0.25)
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def load(self, path: Path):
        if not path.is_file():
            raise FillError(f"no such file: {path}")
        doc = self.desktop.loadComponentFromURL(path.resolve().as_uri(), "_blank", 0, props(Hidden=True))
        if doc is None:
            raise FillError(f"LibreOffice could not load {path}")
        return doc

    def new_writer(self):
        return self.desktop.loadComponentFromURL("private:factory/swriter", "_blank", 0, props(Hidden=True))

    def kill(self) -> None:
        """Ask soffice to quit, then kill its process group whatever happened."""
        if self.desktop is not None and self.proc.poll() is None:
            try:
                self.desktop.terminate()
            except Exception:  # the bridge dies with the office; any error here is expected
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.proc.pid)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def kill_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        for _ in range(20):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ Writer

CELL_NAME = re.compile(r"^([A-Za-z]+)(\d+)((?:\.\d+)*)$")


def col_number(letters: str) -> int:
    """Writer cell-name column letters: A..Z then a..z (then AA..)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = 0
    for ch in letters:
        n = n * len(alphabet) + alphabet.index(ch) + 1
    return n - 1


class WCell:
    """A Writer table cell with its row index and horizontal extent (0..10000 of the table width)."""

    def __init__(self, table, name: str, row: int, left: int, right: int):
        self.table, self.name, self.row, self.left, self.right = table, name, row, left, right
        self.cell = table.getCellByName(name)

    @property
    def text(self) -> str:
        return self.cell.getString()

    @property
    def mid(self) -> float:
        return (self.left + self.right) / 2


class WTable:
    """The cells of a Writer table grouped by row, in visual order, with their x extents.

    Tables with merged cells (gridSpan) are irregular in Writer: each row has its own cell count and
    names (A1 B1 / A3 B3 C3 D3); a split cell gets names like B2.1.1. The x extent of each top-level
    cell comes from its row's TableColumnSeparators, which is what "the cell below" means to a reader.
    """

    def __init__(self, table):
        self.table = table
        self.name = table.getName()
        self.rows: list[list[WCell]] = []
        self.reload()

    def reload(self) -> None:
        by_row: dict[int, list[tuple]] = {}
        for name in self.table.getCellNames():
            m = CELL_NAME.match(name)
            if not m:
                raise FillError(f"table {self.name}: unexpected cell name {name!r}")
            row = int(m.group(2)) - 1
            sub = tuple(int(x) for x in m.group(3).split(".")[1:])
            by_row.setdefault(row, []).append((col_number(m.group(1)), sub, name))
        self.rows = []
        row_objs = self.table.getRows()
        width = self.table.TableColumnRelativeSum or 10000
        for row in range(max(by_row, default=-1) + 1):
            cells = sorted(by_row.get(row, []))
            tops = sorted({c for c, _, _ in cells})
            try:
                seps = [s.Position for s in row_objs.getByIndex(row).TableColumnSeparators if s.IsVisible]
            except Exception:
                seps = []
            if len(seps) != len(tops) - 1:  # no usable geometry: spread cells evenly
                seps = [round(width * (i + 1) / len(tops)) for i in range(len(tops) - 1)]
            edges = [0, *seps, width]
            out = []
            for col, _sub, name in cells:
                i = tops.index(col)
                out.append(WCell(self.table, name, row, edges[i], edges[i + 1]))
            self.rows.append(out)

    def cells(self):
        for row in self.rows:
            yield from row

    def right_of(self, cell: WCell) -> WCell:
        row = self.rows[cell.row]
        i = row.index(cell)
        if i + 1 >= len(row):
            raise FillError(f"table {self.name}: no cell right of {cell.text!r} ({cell.name})")
        return row[i + 1]

    def at(self, row: int, x: float) -> WCell | None:
        if row >= len(self.rows):
            return None
        for cell in self.rows[row]:
            if cell.left <= x < cell.right:
                return cell
        return None

    def below(self, cell: WCell) -> WCell:
        target = self.at(cell.row + 1, cell.mid)
        if target is None:
            raise FillError(f"table {self.name}: no cell below {cell.text!r} ({cell.name})")
        return target


def writer_items(doc) -> list:
    """Top-level body elements (paragraphs and tables) in order."""
    items = []
    en = doc.getText().createEnumeration()
    while en.hasMoreElements():
        items.append(en.nextElement())
    return items


def is_table(el) -> bool:
    return el.supportsService("com.sun.star.text.TextTable")


def type_into(text, rng, value: str) -> None:
    """Select rng and type value over it; each "\\n" is Enter (a new paragraph)."""
    cur = text.createTextCursorByRange(rng)
    parts = str(value).split("\n")
    text.insertString(cur, parts[0], True)
    cur.collapseToEnd()
    for part in parts[1:]:
        text.insertControlCharacter(cur, PARAGRAPH_BREAK, False)
        if part:
            text.insertString(cur, part, False)


def replace_cell(cell: WCell, value) -> None:
    text = cell.cell
    cur = text.createTextCursor()
    cur.gotoStart(False)
    cur.gotoEnd(True)
    type_into(text, cur, "" if value is None else str(value))


def append_cell(cell: WCell, value) -> None:
    text = cell.cell
    cur = text.createTextCursor()
    cur.gotoEnd(False)
    type_into(text, cur, str(value))


class WriterDoc:
    def __init__(self, doc):
        self.doc = doc
        self._tables: list[WTable] | None = None

    @property
    def tables(self) -> list[WTable]:
        if self._tables is None:
            tt = self.doc.getTextTables()
            self._tables = [WTable(tt.getByIndex(i)) for i in range(tt.getCount())]
        return self._tables

    def find_cells(self, label: str) -> list[tuple[WTable, WCell]]:
        key = norm(label)
        return [(t, c) for t in self.tables for c in t.cells() if norm(c.text) == key]

    def the_cell(self, label: str) -> tuple[WTable, WCell]:
        hits = self.find_cells(label)
        if not hits:
            texts = [c.text for t in self.tables for c in t.cells()]
            raise FillError(f"label {label!r} not found in any table cell{near(label, texts)}")
        if len(hits) > 1:
            where = ", ".join(f"{t.name}.{c.name}" for t, c in hits)
            raise FillError(f"label {label!r} is ambiguous: found in {where}")
        return hits[0]

    def fill(self, op: dict) -> None:
        if "label" in op:
            table, cell = self.the_cell(op["label"])
            target = table.below(cell) if op.get("below") else table.right_of(cell)
            replace_cell(target, op["value"])
        elif "append_in_cell" in op:
            table, cell = self.the_cell(op["append_in_cell"])
            append_cell(table.right_of(cell), op["value"])
        elif "heading" in op:
            self.fill_heading(op["heading"], op["value"])
        elif "table" in op:
            self.fill_table(op)
        else:
            raise FillError(f"unknown Writer fill op {op!r}")

    def fill_heading(self, heading: str, value) -> None:
        key = norm(heading)
        cells = self.find_cells(heading)
        items = writer_items(self.doc)
        paras = [i for i, el in enumerate(items) if not is_table(el) and norm(el.getString()) == key]
        if len(cells) + len(paras) == 0:
            raise FillError(f"heading {heading!r} not found (neither a table cell nor a paragraph)")
        if len(cells) + len(paras) > 1:
            raise FillError(f"heading {heading!r} is ambiguous: {len(cells)} cell(s), {len(paras)} paragraph(s)")
        if cells:
            table, cell = cells[0]
            replace_cell(table.below(cell), value)
            return
        i = paras[0]
        if i + 1 >= len(items) or is_table(items[i + 1]):
            raise FillError(f"heading {heading!r} is not followed by a paragraph")
        para = items[i + 1]
        type_into(para.getText(), para, "" if value is None else str(value))

    def fill_table(self, op: dict) -> None:
        headers = [norm(h) for h in op["table"]]
        found = []
        for table in self.tables:
            for r, row in enumerate(table.rows):
                texts = [norm(c.text) for c in row]
                if all(h in texts for h in headers):
                    found.append((table, r))
        if not found:
            raise FillError(f"no table has a row with the headers {op['table']!r}")
        if len(found) > 1:
            raise FillError(f"headers {op['table']!r} found in {len(found)} table rows")
        table, hrow = found[0]
        by_text = {norm(c.text): c for c in table.rows[hrow]}
        xs = [by_text[h].mid for h in headers]
        seq_x = by_text[SEQ_HEADER].mid if SEQ_HEADER in by_text and SEQ_HEADER not in headers else None
        rows = op["rows"]
        have = len(table.rows) - hrow - 1
        if len(rows) > have:
            table.table.getRows().insertByIndex(len(table.rows), len(rows) - have)
            table.reload()
        for i, values in enumerate(rows):
            if len(values) != len(headers):
                raise FillError(f"table {op['table']!r}: row {i} has {len(values)} values for {len(headers)} headers")
            r = hrow + 1 + i
            targets = [(x, v) for x, v in zip(xs, values, strict=True)]
            if seq_x is not None:
                targets.append((seq_x, i + 1))
            for x, v in targets:
                cell = table.at(r, x)
                if cell is None:
                    raise FillError(f"table {op['table']!r}: no cell in row {r + 1} under a header")
                replace_cell(cell, v)
        if op.get("delete_extra"):
            first = hrow + 1 + len(rows)
            keep_x = {seq_x} if seq_x is not None else set()
            for r in range(len(table.rows) - 1, first - 1, -1):
                if all(not norm(c.text) for c in table.rows[r] if not any(c.left <= x < c.right for x in keep_x)):
                    table.table.getRows().removeByIndex(r, 1)
            table.reload()


def paste_into_new(office: Office, doc):
    """Select all, copy, and paste into a new empty Writer document (returned)."""
    ctrl = doc.getCurrentController()
    view = ctrl.getViewCursor()
    view.gotoStart(False)
    view.gotoEnd(True)
    data = ctrl.getTransferable()
    new = office.new_writer()
    new.getCurrentController().insertTransferable(data)
    return new


# -------------------------------------------------------------------------------------------------- Calc


class CalcDoc:
    def __init__(self, doc):
        self.doc = doc

    def sheet(self, op: dict):
        sheets = self.doc.getSheets()
        name = op.get("sheet")
        if name is None:
            return sheets.getByIndex(0)
        if not sheets.hasByName(name):
            raise FillError(f"no sheet named {name!r}")
        return sheets.getByName(name)

    @staticmethod
    def used(sheet) -> tuple[int, int]:
        cur = sheet.createCursor()
        cur.gotoEndOfUsedArea(False)
        addr = cur.getRangeAddress()
        return addr.EndRow, addr.EndColumn

    @staticmethod
    def merged_end(sheet, cell) -> tuple[int, int]:
        cur = sheet.createCursorByRange(cell)
        cur.collapseToMergedArea()
        addr = cur.getRangeAddress()
        return addr.EndRow, addr.EndColumn

    def find(self, sheet, label: str) -> list[tuple[int, int]]:
        key = norm(label)
        last_row, last_col = self.used(sheet)
        return [(r, c) for r in range(last_row + 1) for c in range(last_col + 1)
                if norm(sheet.getCellByPosition(c, r).getString()) == key]

    @staticmethod
    def put(cell, value, how: str | None) -> None:
        """Enter value into cell: typed (default), "string" (setString) or "formula" (setFormula).

        Typed = the FormulaLocal property, which goes through the same parsing as the input line: a
        Text-formatted ("@") cell keeps "2020-06-01" or "13800000000" as text, a General cell turns them into
        a date (with a date format) / a number, "=..." is a formula. XCell.setFormula would ignore the cell's
        Text format (it parses English/invariant input and stores numbers and dates as values). The view's
        .uno:EnterString does respect it, but makes a hidden Calc document abort soffice 7.4 moments later.
        """
        text = "" if value is None else str(value)
        if how == "string":
            cell.setString(text)
        elif how == "formula":
            cell.setFormula(text)
        elif how in (None, "typed"):
            cell.FormulaLocal = text
        else:
            raise FillError(f"unknown \"as\": {how!r} (use \"typed\", \"string\" or \"formula\")")

    def fill(self, op: dict) -> None:
        if "label" in op:
            sheet = self.sheet(op)
            hits = self.find(sheet, op["label"])
            if not hits:
                last_row, last_col = self.used(sheet)
                texts = [sheet.getCellByPosition(c, r).getString() for r in range(last_row + 1)
                         for c in range(last_col + 1)]
                raise FillError(f"label {op['label']!r} not found on sheet {sheet.getName()!r}{near(op['label'], texts)}")
            if len(hits) > 1:
                raise FillError(f"label {op['label']!r} found {len(hits)} times on sheet {sheet.getName()!r}")
            r, c = hits[0]
            _, end_col = self.merged_end(sheet, sheet.getCellByPosition(c, r))
            self.put(sheet.getCellByPosition(end_col + 1, r), op["value"], op.get("as"))
        elif "table" in op:
            self.fill_table(op)
        elif "add_sheet" in op:
            sheets = self.doc.getSheets()
            name = op["add_sheet"]
            if sheets.hasByName(name):
                raise FillError(f"sheet {name!r} already exists")
            sheets.insertNewByName(name, sheets.getCount())
            sheet = sheets.getByName(name)
            for ref, value in op.get("cells", {}).items():
                self.put(sheet.getCellRangeByName(ref), value, op.get("as"))
        else:
            raise FillError(f"unknown Calc fill op {op!r}")

    def fill_table(self, op: dict) -> None:
        sheet = self.sheet(op)
        headers = [norm(h) for h in op["table"]]
        last_row, last_col = self.used(sheet)
        found = []
        for r in range(last_row + 1):
            texts = {norm(sheet.getCellByPosition(c, r).getString()): c for c in range(last_col + 1)}
            if all(h in texts for h in headers):
                found.append((r, [texts[h] for h in headers]))
        if not found:
            raise FillError(f"no row with the headers {op['table']!r} on sheet {sheet.getName()!r}")
        if len(found) > 1:
            raise FillError(f"headers {op['table']!r} found in {len(found)} rows on sheet {sheet.getName()!r}")
        hrow, cols = found[0]
        first = max(self.merged_end(sheet, sheet.getCellByPosition(c, hrow))[0] for c in cols) + 1
        for i, values in enumerate(op["rows"]):
            if len(values) != len(cols):
                raise FillError(f"table {op['table']!r}: row {i} has {len(values)} values for {len(cols)} headers")
            for c, v in zip(cols, values, strict=True):
                self.put(sheet.getCellByPosition(c, first + i), v, op.get("as"))
        if op.get("delete_extra"):
            start = first + len(op["rows"])
            last_row, _ = self.used(sheet)
            for r in range(last_row, start - 1, -1):
                if all(not sheet.getCellByPosition(c, r).getString().strip() for c in range(last_col + 1)):
                    sheet.getRows().removeByIndex(r, 1)


# -------------------------------------------------------------------------------------------------- main


def run_job(office: Office, job: dict) -> None:
    src = Path(job["src"])
    doc = office.load(src)
    docs = [doc]
    try:
        if doc.supportsService("com.sun.star.text.TextDocument"):
            filler = WriterDoc(doc)
        elif doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
            filler = CalcDoc(doc)
            if job.get("paste_into_new"):
                raise FillError("paste_into_new is only supported for Writer documents")
        else:
            raise FillError(f"{src}: neither a Writer nor a Calc document")
        for n, op in enumerate(job.get("fills", [])):
            if VERBOSE:
                log(f"  fill #{n}: {json.dumps(op, ensure_ascii=False)[:120]}")
            try:
                filler.fill(op)
            except FillError as exc:
                raise FillError(f"{src.name}: fill #{n} {json.dumps(op, ensure_ascii=False)[:200]}: {exc}") from None
        target = doc
        if job.get("paste_into_new"):
            target = paste_into_new(office, doc)
            docs.append(target)
            if target.getTextTables().getCount() != doc.getTextTables().getCount():
                raise FillError(f"{src.name}: pasting into a new document lost tables "
                                f"({target.getTextTables().getCount()} of {doc.getTextTables().getCount()})")
        for out in job.get("outputs", []):
            path = Path(out["path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            target.storeToURL(path.resolve().as_uri(), props(FilterName=out["filter"], Overwrite=True))
            if not path.is_file():
                raise FillError(f"{src.name}: LibreOffice did not write {path} ({out['filter']})")
    finally:
        for d in docs:
            try:
                d.close(True)
            except Exception:  # closing is best effort; the office is killed at the end anyway
                pass


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: /usr/bin/python3 tests/support/lo_fill.py SPEC.json", file=sys.stderr)
        return 64
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    office = Office(Path(spec["profile"]))
    done = threading.Event()

    def watchdog() -> None:  # a UNO call can block forever; never leave soffice behind
        if not done.wait(float(spec.get("timeout", 600))):
            log("ERROR: timed out; killing soffice")
            kill_group(office.proc.pid)
            os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        office.connect()
        for i, job in enumerate(spec["jobs"]):
            t0 = time.monotonic()
            run_job(office, job)
            log(f"job {i} {Path(job['src']).name}: {time.monotonic() - t0:.1f} s")
        return 0
    except FillError as exc:
        log(f"ERROR: {exc}")
        return 2
    finally:
        done.set()
        office.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
