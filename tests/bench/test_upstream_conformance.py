"""Conformance of ``--protocol pandasplotbench`` with the published harness, verdict for verdict.

Each answer below exercises one behaviour. It goes through what the protocol does: upstream's
post-processing (``gather_code``), upstream's notebook cell (``cell_source``) run in the
sandbox's notebook-cell mode (a real IPython shell in the jailed child), then upstream's
verdict (error output, display_data PNGs, "Unexpected Error"). The expected verdict and error
type of each are what upstream's code gives, worked out by reading it: TIGER-AI-Lab/VisCoder
at 37fefb73df89d3f3a712981bddfacabd9e10d426, eval/PandasPlotBench/plotting_benchmark/
(CPG = code_plot_generator.py gather_code l.52-88; VG = vis_generator.py generate_code, which
builds the cell, and parse_plots_notebook, which reads "error" outputs and display_data
"image/png" outputs only; B = benchmark.py run_benchmark_model, "Unexpected Error" when a cell
has no plot and no error). The cell runs with ExecutePreprocessor(timeout=10,
interrupt_on_timeout=True, allow_errors=True) in a kernel whose working folder holds no
data.csv (the CSV lives under dataset/data-<id>.csv).

Runs in the ``pandasplotbench`` runtime (the harness's library versions) when it is built;
otherwise in ``default``, where the cases that depend on library versions are skipped.
"""

import pytest

from viscoder.bench import upstream
from viscoder.bench.upstream_engine import DATA_NAME, exec_error
from viscoder.sandbox import Sandbox, SandboxConfig

CSV = b"name,value,year\nb,2,2001\na,1,2002\nc,3,2003\n"
CODE_DATA = 'import pandas as pd\ndf = pd.read_csv("data.csv")\n'
MPL = "import matplotlib.pyplot as plt\n"
BAR = "plt.bar(df['name'], df['value'])\n"
PX = "import plotly.express as px\nfig = px.bar(df, x='name', y='value')\n"


def _runtime() -> tuple[str, set[str]]:
    from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

    for name in ("pandasplotbench", "default"):
        try:
            return name, set(get_runtime(name).modules)
        except RuntimeUnavailable:
            continue
    pytest.skip("no execution runtime is built (make setup)", allow_module_level=True)


RUNTIME, MODULES = _runtime()
HARNESS_VERSIONS = RUNTIME == "pandasplotbench"
# plotly's fig.show() with the "png" renderer refuses to run without nbformat (plotly
# io/_renderers.py show()); upstream's kernel environment has it (the harness imports it)
PLOTLY_SHOW = "nbformat" in MODULES


def fence(code: str) -> str:
    return f"Here is the code:\n```python\n{code}```\nIt draws the plot."


# (name, answer, library, passes upstream, error type upstream, why: upstream file and line)
CASES = [
    ("read_csv spelling 1", fence(MPL + 'df = pd.read_csv("data.csv")\n' + BAR + "plt.show()\n"),
     "matplotlib", True, None, "CPG l.75 turns the line into '#'; df comes from code_data"),
    ("read_csv spelling 2", fence(MPL + "df = pd.read_csv('data.csv')\n" + BAR + "plt.show()\n"),
     "matplotlib", True, None, "CPG l.76"),
    ("read_csv spelling 3", fence(MPL + 'df=pd.read_csv("data.csv")\n' + BAR + "plt.show()\n"),
     "matplotlib", True, None, "CPG l.77"),
    ("read_csv spelling 4", fence(MPL + "df=pd.read_csv('data.csv')\n" + BAR + "plt.show()\n"),
     "matplotlib", True, None, "CPG l.78"),
    ("read_csv other spelling", fence(MPL + "import pandas as pd\ndf = pd.read_csv('data.csv', sep=',')\n"
                                      + BAR + "plt.show()\n"),
     "matplotlib", False, "FileNotFoundError", "not one of CPG l.75-78; no data.csv in the kernel's folder"),
    ("savefig only", fence(MPL + BAR + "plt.savefig('plot.png')\n"),
     "matplotlib", True, None, "CPG l.82: .savefig(...) -> .show()"),
    ("savefig with a call inside", fence(MPL + "import os\n" + BAR + "plt.savefig(os.path.join('.', 'p.png'))\n"),
     "matplotlib", False, "SyntaxError", "CPG l.82 stops at the first ')': 'plt.show())'"),
    ("write_image only", fence(PX + "fig.write_image('plot.png')\n"),
     "plotly", True, None, "CPG l.81: .write_image(...) -> .show(), png renderer (VG generate_code)"),
    ("write_html only", fence(PX + "fig.write_html('plot.html')\n"),
     "plotly", False, "NoPlot", "not rewritten; no display_data -> B 'Unexpected Error'"),
    ("try/except around show", fence(MPL + BAR + "try:\n    plt.show()\nexcept Exception:\n    pass\n"),
     "matplotlib", True, None, "CPG l.85-86 unwraps to 'plt.show()'"),
    ("try/except, two lines", fence(PX + "try:\n    fig.show()\n    done = True\nexcept:\n    pass\n"),
     "plotly", False, "IndentationError", "CPG l.85-86 keeps the body's indentation"),
    ("np. without import", fence(MPL + "x = np.arange(3)\nplt.plot(x, df['value'])\nplt.show()\n"),
     "matplotlib", True, None, "CPG l.79-80 prepends 'import numpy as np'"),
    ("magics", fence("%matplotlib inline\n" + MPL + "%time total = df['value'].sum()\n" + BAR + "plt.show()\n"),
     "matplotlib", True, None, "the cell runs in an IPython kernel (VG build_plots)"),
    ("display(fig)", fence(MPL + "fig, ax = plt.subplots()\nax.bar(df['name'], df['value'])\ndisplay(fig)\n"),
     "matplotlib", True, None, "display() makes display_data; VG parse_plots_notebook counts it"),
    ("trailing fig, plotly", fence(PX + "fig\n"),
     "plotly", False, "NoPlot", "VG generate_code appends '%reset -f': 'fig' is not the cell's last "
     "statement, so no execute_result (which would not count either)"),
    ("trailing fig, matplotlib", fence(MPL + "fig, ax = plt.subplots()\nax.bar(df['name'], df['value'])\nfig\n"),
     "matplotlib", True, None, "%matplotlib inline shows open figures after the cell"),
    ("plotly assigned, not shown", fence(PX),
     "plotly", False, "NoPlot", "nothing displayed -> B 'Unexpected Error'"),
    ("no fence", MPL + BAR + "plt.show()\n",
     "matplotlib", True, None, "CPG l.71-74: the whole answer is the code"),
    ("two fences", fence(MPL) + "\nThen:\n" + fence(BAR + "plt.show()\n"),
     "matplotlib", False, "NoPlot", "CPG l.68-70: only the first ```python block"),
    ("py fence", "```py\n" + MPL + BAR + "plt.show()\n```",
     "matplotlib", False, "SyntaxError", "CPG l.68: no '```python', so the fences stay in the code"),
    ("timeout", fence(MPL + BAR + "plt.show()\nwhile True:\n    pass\n"),
     "matplotlib", False, "KeyboardInterrupt", "VG build_plots: interrupt_on_timeout=True"),
    ("no plot", fence(MPL + "print(df.describe())\n"),
     "matplotlib", False, "NoPlot", "no error, no PNG -> B 'Unexpected Error'"),
    ("no plot, no pyplot import", fence("print(df.shape)\n"),
     "matplotlib", False, "NameError", "VG generate_code's reset line uses plt, which the cell never defined"),
    ("seaborn without sns", fence(MPL + "import seaborn\nseaborn.barplot(data=df, x='name', y='value')\nplt.show()\n"),
     "seaborn", False, "NameError", "VG generate_code adds sns.reset_orig()"),
    ("plot then error", fence(MPL + BAR + "plt.show()\ndf['missing']\n"),
     "matplotlib", False, "KeyError", "a PNG is there but the error output fails the cell"),
]
VERSION_CASES = [
    ("DataFrame.applymap", fence(MPL + "df2 = df.applymap(str)\n" + BAR + "plt.show()\n"),
     "matplotlib", True, None, "pandas 2.2: a FutureWarning only (removed in pandas 3)"),
    ("np.float_", fence(MPL + "v = df['value'].astype(np.float_)\nplt.plot(v)\nplt.show()\n"),
     "matplotlib", True, None, "numpy 1.26 still has np.float_ (removed in numpy 2)"),
    ("plotly titlefont", fence(PX + "fig.update_layout(xaxis=dict(titlefont=dict(size=14)))\nfig.show()\n"),
     "plotly", True, None, "plotly 5.24 accepts titlefont (removed in plotly 6)"),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(timeout_s=upstream.CELL_TIMEOUT_S, runtime=RUNTIME)) as sb:
        yield sb


def verdict_of(sandbox, answer: str, library: str, timeout_s: float | None = None):
    code = upstream.gather_code(answer)
    cell = upstream.cell_source("7", CODE_DATA, code, library, DATA_NAME.format(id="7"))
    res = sandbox.run(cell, files={DATA_NAME.format(id="7"): CSV}, mode="cell", cell_number=8,
                      timeout_s=timeout_s)
    passed, error = upstream.verdict(exec_error(res, None), len(res.pngs))
    return passed, upstream.error_type(error), error, res


@pytest.mark.parametrize("name,answer,library,passes,etype,why", CASES, ids=[c[0] for c in CASES])
def test_verdict_matches_upstream(sandbox, name, answer, library, passes, etype, why):
    if library == "plotly" and passes and not PLOTLY_SHOW:
        pytest.skip(f"the {RUNTIME} runtime lacks nbformat, which plotly's png renderer needs")
    timeout = 3 if name == "timeout" else None  # the verdict is the same at 10 s, sooner
    passed, got_type, error, res = verdict_of(sandbox, answer, library, timeout)
    assert (passed, got_type) == (passes, etype), f"{name} ({why}): {error[-800:]}"
    if passes:
        assert res.pngs and all(p.startswith(b"\x89PNG") for p in res.pngs)
    if etype and etype != "NoPlot":
        assert "\x1b[" not in error and error.strip().splitlines()[-1].startswith(etype)


@pytest.mark.skipif(not HARNESS_VERSIONS, reason="needs the pandasplotbench runtime (make setup)")
@pytest.mark.parametrize("name,answer,library,passes,etype,why", VERSION_CASES,
                         ids=[c[0] for c in VERSION_CASES])
def test_version_specific_apis_pass_as_in_the_harness(sandbox, name, answer, library, passes, etype, why):
    if library == "plotly" and not PLOTLY_SHOW:
        pytest.skip(f"the {RUNTIME} runtime lacks nbformat, which plotly's png renderer needs")
    passed, got_type, error, _ = verdict_of(sandbox, answer, library)
    assert (passed, got_type) == (passes, etype), f"{name} ({why}): {error[-800:]}"


def test_traceback_is_the_kernels(sandbox):
    # what the correction turn sends: IPython's traceback of the cell ("Cell In[8], line N",
    # the arrow at the failing line), ANSI stripped (VG remove_ansi_escape)
    _, _, error, _ = verdict_of(sandbox, fence(MPL + "df['missing']\n"), "matplotlib")
    assert "Cell In[8], line" in error and "----> " in error
    assert error.strip().endswith("KeyError: 'missing'")
