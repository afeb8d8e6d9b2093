"""What the document readers leave in the text they hand on, for the parser to interpret.

The readers know how a document marks things (a symbol-font character, a struck-through run, a formula's error
value); the parser decides what such text means for a field. These markers are the contract between the two.
"""

from __future__ import annotations

UNKNOWN_SYMBOL = "\ufffc"  # what the Word reader puts for a symbol-font character it does not know
# Text the person struck through (删除线) is visible but crossed out: the readers keep it between these marks.
STRUCK_START, STRUCK_END = "\ue010", "\ue011"


class CellError(str):
    """A spreadsheet cell whose formula gave an error value (#DIV/0!, #REF! …): shown, but not a value."""
