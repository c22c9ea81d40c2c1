"""One fence parser, two rules (viscoder.fences): the bench takes the first python block and
ignores unmarked ones; the data extractor takes the longest python or unmarked block."""

import pytest

from viscoder.fences import BENCH, EXTRACTION, fenced_code

SHORT, LONG = "pip install x", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"


@pytest.mark.parametrize("text, bench, extraction", [
    (f"```python\n{SHORT}\n```\n```python\n{LONG}\n```", SHORT, LONG),
    (f"```\n{LONG}\n```", None, LONG),
    (f"```java\nclass A {{}}\n```\n```py\n{LONG}\n```", LONG, LONG),
    (f"Sure:\n```Python3\n{LONG}", LONG, LONG),  # cut off before the closing fence
    ("no code at all", None, None),
])
def test_the_two_rules(text, bench, extraction):
    assert fenced_code(text, BENCH) == bench
    assert fenced_code(text, EXTRACTION) == extraction
