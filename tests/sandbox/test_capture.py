"""What counts as a rendered figure, blankness, tracebacks: the harness semantics."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from tests.conftest import needs_chromium  # noqa: E402
from viscoder.sandbox import ExecStatus  # noqa: E402
from viscoder.sandbox.capture import matplotlib_figure_blank, plotly_figure_blank  # noqa: E402
from viscoder.sandbox.errors import bound_text, strip_ansi  # noqa: E402


def test_matplotlib_blankness_is_judged_by_artists():
    fig, ax = plt.subplots()
    assert matplotlib_figure_blank(fig)  # axes, ticks, many colours, but nothing drawn
    ax.set_title("only a title")
    assert matplotlib_figure_blank(fig)
    ax.plot([], [])
    assert matplotlib_figure_blank(fig)
    ax.plot([1, 2], [3, 4])
    assert not matplotlib_figure_blank(fig)
    plt.close("all")
    fig, ax = plt.subplots()
    ax.bar(["a"], [1])
    assert not matplotlib_figure_blank(fig)
    fig, ax = plt.subplots()
    ax.imshow([[0, 1], [1, 0]])
    assert not matplotlib_figure_blank(fig)
    fig, ax = plt.subplots()
    ax.scatter([], [])
    assert matplotlib_figure_blank(fig)
    plt.close("all")


def test_3d_surfaces_and_bars_are_not_blank():
    # a surface's Poly3DCollection has no 2D paths until a draw projects it (found on real code)
    import numpy as np

    grid_x, grid_y = np.meshgrid(np.linspace(-2, 2, 8), np.linspace(-2, 2, 8))
    fig = plt.figure()
    fig.add_subplot(projection="3d").plot_surface(grid_x, grid_y, np.sin(grid_x * grid_y))
    assert not matplotlib_figure_blank(fig)
    fig = plt.figure()
    fig.add_subplot(projection="3d").bar3d([0, 1], [0, 1], [0, 0], 1, 1, [1, 2])
    assert not matplotlib_figure_blank(fig)
    fig = plt.figure()
    fig.add_subplot(projection="3d")
    assert matplotlib_figure_blank(fig)
    plt.close("all")


def test_plotly_blankness_is_judged_by_traces():
    assert plotly_figure_blank({"data": [], "layout": {"title": {"text": "t"}}})
    assert plotly_figure_blank({"data": [{"type": "scatter", "x": [], "y": []}]})
    assert not plotly_figure_blank({"data": [{"type": "bar", "y": [1]}]})
    assert not plotly_figure_blank({"data": [{"type": "bar", "y": {"dtype": "f8", "bdata": "AAA="}}]})
    assert not plotly_figure_blank({"data": [], "layout": {"annotations": [{"text": "x"}]}})


def test_figures_shown_and_left_open_are_both_captured(sandbox):
    code = ("import matplotlib.pyplot as plt\nplt.plot([1])\nplt.show()\n"
            "plt.figure()\nplt.bar([1], [2])\n")
    res = sandbox.run(code)
    assert res.ok and [f.via for f in res.figures] == ["show", "end"]
    assert all(p.startswith(b"\x89PNG") for p in res.pngs)


def test_savefig_then_close_is_no_plot_like_a_notebook(sandbox):
    code = "import matplotlib.pyplot as plt\nplt.plot([1])\nplt.savefig('out.png')\nplt.close()"
    assert sandbox.run(code).status is ExecStatus.NO_PLOT


def test_blank_figure_is_flagged(sandbox):
    res = sandbox.run("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('t')")
    assert res.ok and res.blank


def test_files_are_placed_in_the_working_folder(sandbox):
    code = "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(df.shape)\ndf.plot(x='a', y='b')"
    res = sandbox.run(code, files={"data.csv": "a,b\n1,2\n3,4\n", "sub/x.txt": b"hi"})
    assert res.ok and res.stdout.strip() == "(2, 2)"


def test_script_desktop_backend_request_is_ignored(sandbox):
    res = sandbox.run("import matplotlib\nmatplotlib.use('TkAgg')\nimport matplotlib.pyplot as plt\n"
                      "plt.plot([1])\nplt.show()")
    assert res.ok


def test_unshown_plotly_figure_is_recorded_but_not_counted(sandbox):
    res = sandbox.run("import plotly.express as px\nfig = px.bar(x=[1, 2], y=[3, 4])\n")
    assert res.status is ExecStatus.NO_PLOT
    assert [(f.library, f.shown, f.via) for f in res.figures] == [("plotly", False, "unshown")]


@needs_chromium
@pytest.mark.parametrize("ending", ["fig.show()", "fig.write_image('x.png')", "fig.write_html('x.html')", "fig"])
def test_plotly_shown_or_written_is_rendered(sandbox, ending):
    res = sandbox.run(f"import plotly.express as px\nfig = px.line(x=[1, 2, 3], y=[3, 1, 2])\n{ending}\n")
    assert res.ok, res.error_message
    assert len(res.pngs) == 1 and res.pngs[0].startswith(b"\x89PNG")


@needs_chromium
def test_plotly_imported_under_a_name_the_worker_cannot_see_is_still_captured():
    # a fresh worker: plotly is not preloaded, so capture patches it only when the script
    # imports it (children of scripts that never do skip its ~70 ms import)
    from viscoder.sandbox import Sandbox, SandboxConfig

    hidden = ("px = __import__('plo' + 'tly.express', fromlist=['line'])\n"
              "fig = px.line(x=[1, 2, 3], y=[3, 1, 2])\nfig.show()\n")
    with Sandbox(SandboxConfig(timeout_s=20)) as fresh:
        assert fresh.run("x = 1\n").status is ExecStatus.NO_PLOT
        res = fresh.run(hidden)
    assert res.ok, res.error_message
    assert [(f.library, f.via) for f in res.figures] == [("plotly", "show")]
    assert res.pngs[0].startswith(b"\x89PNG")


def test_traceback_keeps_script_frames_and_drops_the_harness(sandbox):
    code = "import pandas as pd\n\ndef draw(df):\n    return df['missing']\n\ndraw(pd.DataFrame({'a': [1]}))\n"
    res = sandbox.run(code)
    assert res.status is ExecStatus.ERROR and res.error_type == "KeyError"
    tb = res.traceback
    assert 'line 6, in <module>' in tb and "return df['missing']" in tb
    assert "viscoder" not in tb and "capture.py" not in tb
    assert tb.rstrip().endswith("KeyError: 'missing'")
    assert len(tb) <= sandbox.config.traceback_limit_chars + 100


def test_syntax_error_is_an_error_with_its_line(sandbox):
    res = sandbox.run("x = (1,\nprint(x)")
    assert res.status is ExecStatus.ERROR and res.error_type == "SyntaxError"
    assert "line" in res.traceback


def test_output_is_bounded(sandbox):
    res = sandbox.run("print('a' * 200000)\nprint('THE END')")
    assert len(res.stdout) < sandbox.config.output_limit_bytes + 200
    assert "THE END" in res.stdout and "omitted" in res.stdout


def test_result_record_has_the_contract_fields(sandbox, tmp_path):
    res = sandbox.run("import matplotlib.pyplot as plt\nplt.plot([1])", task_id="a/b")
    res.save_images(tmp_path)
    record = json.loads(res.to_json())
    for key in ("id", "status", "error_type", "error_message", "traceback", "images", "blank",
                "duration_s"):
        assert key in record
    assert record["images"] and all(p.startswith(str(tmp_path)) for p in record["images"])


def test_bound_text_and_ansi():
    assert strip_ansi("\x1b[0;31mKeyError\x1b[0m") == "KeyError"
    text = bound_text("h" * 100 + "t" * 100, 60)
    assert text.startswith("h") and text.endswith("t") and "omitted" in text


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/evil.csv", "a/../../x"])
def test_file_names_leaving_the_workdir_are_refused(sandbox, name):
    res = sandbox.run("print('never runs')", files={name: "x"})
    assert res.status is ExecStatus.ERROR and "leaves the working folder" in res.error_message


def test_jupyter_backend_refuses_the_same_names(tmp_path):
    from viscoder.sandbox.files import place_files

    with pytest.raises(ValueError, match="leaves the working folder"):
        place_files(str(tmp_path), {"../x": "eA=="})
    place_files(str(tmp_path), {"sub/ok.txt": "eA=="})
    assert (tmp_path / "sub" / "ok.txt").read_bytes() == b"x"
