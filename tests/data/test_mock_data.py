"""The mock data fits how the code uses its inputs: one test per failure class seen on real
files (issue 14). The inputs are files written for these tests (tests/data/corpus)."""

import ast
from pathlib import Path

from viscoder.data.mock_data import MOCK_ROWS
from viscoder.data.notebook import python_source, star_exports
from viscoder.data.static_extract import extract_static

CORPUS = Path(__file__).parent / "corpus"


def extract(name: str):
    result = extract_static((CORPUS / f"{name}.py").read_text())
    assert result.code, result.reason
    return result


def frame_columns(code: str) -> dict[str, list[str]]:
    """Columns of every `name = pd.DataFrame({...})` in the code."""
    out = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "attr", "") == "DataFrame" and node.value.args \
                and isinstance(node.value.args[0], ast.Dict):
            out[ast.unparse(node.targets[0])] = [k.value for k in node.value.args[0].keys]
    return out


def test_reads_from_absolute_and_windows_paths_are_mocked_with_the_selected_columns():
    result = extract("abs_windows_paths")
    frames = frame_columns(result.code)
    assert frames["prices"] == ["Date", "Adj Close"]  # df[['Date', 'Adj Close']]
    assert frames["volume"] == ["day", "shares"]
    assert "C:\\\\" not in result.code and "/home/analyst" not in result.code
    assert "DATA_DIR" not in result.code  # the path the read needed is no longer kept
    # a column parsed with to_datetime(format=...) is mocked as strings in that format
    assert "strftime('%Y-%m-%d')" in result.code
    # a parse_dates column is a real datetime column
    assert "'day': pd.date_range" in result.code


def test_open_with_csv_reader_gets_a_text_table_as_wide_as_the_rows_are_indexed():
    code = extract("open_csv_reader").code
    assert "io.StringIO(" in code and "D:/logger" not in code
    text = ast.literal_eval(code.split("io.StringIO(")[1].split(") as f")[0])
    header, *rows = text.strip().splitlines()
    assert header.count(";") == 3 and len(rows) > 5  # row[3] read; next(reader) skips a header
    assert all(len(r.split(";")) == 4 for r in rows)
    assert "temps.append" in code  # the loop that fills the arrays is kept, so [-1] works


def test_numpy_readers_are_shaped_by_indexing_unpacking_and_names():
    code = extract("loadtxt_columns").code
    assert f"randn({MOCK_ROWS}, 5)" in code  # data[:, 4] is read
    assert f"randn(2, {MOCK_ROWS})" in code  # unpack=True into two names
    assert frame_columns(code.replace(".to_records(index=False)", ""))["table"] == ["lon", "lat"]


def test_excel_and_json_frames_get_categories_for_filters_groups_and_string_methods():
    code = extract("excel_json_usage").code
    frames = frame_columns(code)
    assert set(frames["staff"]) == {"salary", "gender", "department"}
    assert "'gender': np.resize(['Female']" in code  # compared with 'Female': present
    assert "'department': np.random.choice" in code  # a groupby key: categories
    assert frames["events"] == ["title"]  # 'kind' is made by the code, not read


def test_notebook_magics_and_shell_lines_are_translated_or_dropped():
    result = extract("notebook_magics")
    assert "pip install" not in result.code and "%" not in result.code.replace("% ", "")
    assert "plt.hist" in result.code
    assert python_source("%pylab inline\nplot([1])\n").startswith("from pylab import *")
    assert python_source("print 'python 2'\n") is None
    assert extract_static((CORPUS / "shell_output_used.py").read_text()).reason.startswith(
        "ipython_shell_output")


def test_star_imports_of_numpy_math_pylab_are_resolved():
    result = extract("star_imports")
    assert "loglog" in result.plot_calls and not result.mocked
    assert {"sqrt", "loglog", "logspace"} <= star_exports("pylab") | star_exports("math")
    assert star_exports("some_unknown_module") == frozenset()


def test_no_mock_column_is_invented_from_a_string_fragment():
    result = extract("string_fragment_column")
    assert frame_columns(result.code)["houses"] == ["price", "lot_area"]
    assert "_log" not in result.columns


def test_polynomial_coefficients_are_coefficients_and_differ():
    code = extract("pole_zero").code
    mocks = {line.split(" = ")[0]: line.split(" = ")[1] for line in code.splitlines()
             if line.startswith(("a = ", "b = "))}
    assert set(mocks) == {"a", "b"} and mocks["a"] != mocks["b"]
    assert all(v.startswith("np.array([") and "linspace" not in v for v in mocks.values())


def test_filter_values_from_a_loop_over_literals_exist_in_the_mock():
    code = extract("plotly_tables").code
    assert "'season': np.resize(['2019', '2020', '2021', '2022']" in code


def test_globbed_files_are_mocked_so_loops_are_not_empty():
    code = extract("glob_many_files").code
    assert "mock_0.csv" in code and "/mnt/results" not in code
    assert "'epoch': np.arange(1, 31)" in code  # an ordered x column, not noise
