"""Step 1 (library filter) and step 2 (static extractor) as pure functions; the extracted
blocks are run in the real sandbox."""

from pathlib import Path

import pytest

from viscoder.data.filter import LibraryFilter, detect_libraries
from viscoder.data.static_extract import extract_static

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("text, expected", [
    ("import matplotlib.pyplot as plt\nplt.plot([1])", ["matplotlib"]),
    ("import numpy as np, seaborn as sns\n", ["seaborn"]),
    ("from plotly import express as px\nimport matplotlib\n", ["matplotlib", "plotly"]),
    ("from pylab import *\nplot([1, 2])", ["matplotlib"]),
    ("# we could use matplotlib here\nprint('no')", []),
    ("x = 'import seaborn'\n", []),
    ("    import plotly.graph_objects as go\n", ["plotly"]),
])
def test_detect_libraries(text, expected):
    assert detect_libraries(text) == expected


def test_optional_libraries_only_when_asked():
    text = "import altair as alt\nimport bokeh.plotting\n"
    assert detect_libraries(text) == []
    assert detect_libraries(text, ("matplotlib", "bokeh", "altair")) == ["bokeh", "altair"]


@pytest.mark.parametrize("content, reason", [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    (b"import matplotlib\n" + b"\xff\xfe caf\xe9", "not_utf8"),
    ("import matplotlib\n" + "x = 1\n" * 100_000, "too_large"),
    ("   \n", "empty"),
    (None, "empty"),
    ("import os\n", "no_plotting_library"),
])
def test_bad_rows_are_rejections_with_reasons(content, reason):
    verdict = LibraryFilter(max_bytes=200_000)(content)
    assert not verdict.kept and verdict.reason == reason


EXPECTED = {  # file -> None (a block is extracted) or the rejection reason's start
    "read_csv_module": None, "function_only": None, "argparse_main": None, "class_method": None,
    "notebook_export": None, "plotly_express": None, "seaborn_load_dataset": None,
    "module_arrays": None, "loop_subplots_undefined": None,
    # the failure classes of real files (issue 14), written for these tests
    "abs_windows_paths": None, "open_csv_reader": None, "loadtxt_columns": None,
    "excel_json_usage": None, "notebook_magics": None, "star_imports": None,
    "string_fragment_column": None, "pole_zero": None, "plotly_tables": None,
    "glob_many_files": None, "unpicklable_model": None,
    "python2_syntax": "syntax_error", "import_only": "no_plotting_call",
    "undefined_helper": "unavailable_module: mylib",
    "shell_output_used": "ipython_shell_output",
}
# extracted, but the sandbox must reject them (their data cannot be guessed): honest rejections
FAILS_TO_RUN = {"unpicklable_model": "FileNotFoundError"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_static_extractor_on_the_corpus(name):
    result = extract_static((CORPUS / f"{name}.py").read_text())
    if EXPECTED[name] is None:
        assert result.code, result.reason
        assert "savefig" not in result.code and "plt.close" not in result.code
        for reader in ("read_csv", "read_excel", "read_json", "loadtxt", "genfromtxt", "glob("):
            assert reader not in result.code
        assert "parse_args()" not in result.code and "get_ipython" not in result.code
        assert "linspace(0, 10, 30)" not in result.code  # the old catch-all mock
        assert result.code.rstrip().endswith(("show()", ")"))
    else:
        assert result.code is None and result.reason.startswith(EXPECTED[name])


def test_mock_data_has_the_columns_the_code_uses():
    result = extract_static((CORPUS / "read_csv_module.py").read_text())
    assert {"units", "price", "month"} <= set(result.columns)
    assert result.texts["title"] == ["Revenue per month"] and result.colors == ["steelblue"]
    assert "bar" in result.plot_calls
    argparse_result = extract_static((CORPUS / "argparse_main.py").read_text())
    assert "bins=15" in argparse_result.code  # argparse's declared default is kept


@pytest.mark.slow
def test_extracted_blocks_run_and_render(sandbox):
    rendered, extracted = 0, 0
    for name, expected in EXPECTED.items():
        if expected is not None:
            continue
        code = extract_static((CORPUS / f"{name}.py").read_text()).code
        extracted += 1
        result = sandbox.run(code, task_id=name)
        if name in FAILS_TO_RUN:
            assert not result.ok and result.error_type == FAILS_TO_RUN[name], name
            continue
        assert result.ok and not result.blank, (name, result.error_type, result.error_message)
        rendered += 1
    assert rendered == extracted - len(FAILS_TO_RUN) == 19
