"""Characters XML 1.0 cannot carry: one stray one (a model's U+FFFF, a chat title's escape code) makes a
feed unserializable, so every text that can reach a feed passes through `xml_safe`."""
from __future__ import annotations

import re

# Everything outside XML 1.0's Char production: C0 controls but tab/newline/return, surrogates, U+FFFE/U+FFFF.
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text)
