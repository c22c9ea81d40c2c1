"""The nbclient backend (the paper's harness) agrees with the fork backend on outcomes."""

import pytest

from tests.conftest import needs_chromium
from viscoder.sandbox import Sandbox, SandboxConfig

CASES = {
    "plot": ("import matplotlib.pyplot as plt\nplt.plot([1, 2])", "ok", False),
    "blank": ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()", "ok", True),
    "error": ("import pandas as pd\npd.DataFrame({'a': [1]})['b']", "error", False),
    "no_plot": ("x = 1", "no_plot", False),
    "timeout": ("while True:\n    pass", "timeout", False),
}


@pytest.fixture(scope="module")
def notebook():
    # 10 s: a kernel that writes a plotly figure can take more than 4 s on a loaded machine
    with Sandbox(SandboxConfig(backend="jupyter", timeout_s=10, interrupt_grace_s=1)) as sb:
        yield sb


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outcome_as_fork_backend(notebook, sandbox, name):
    code, status, blank = CASES[name]
    nb, fork = notebook.run(code), sandbox.run(code)
    assert nb.status.value == fork.status.value == status
    assert nb.blank == fork.blank == blank
    assert nb.error_type == fork.error_type or status == "timeout"
    assert len(nb.pngs) == len(fork.pngs)


def test_notebook_kills_a_script_that_ignores_interrupts(notebook):
    res = notebook.run("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                       "while True:\n    time.sleep(0.1)")
    assert res.status.value == "timeout"


@needs_chromium
def test_written_plotly_figure_counts_in_both_backends(notebook, sandbox):
    code = "import plotly.express as px\nfig = px.bar(x=[1, 2], y=[2, 1])\nfig.write_html('f.html')"
    nb, fork = notebook.run(code), sandbox.run(code)
    assert nb.status.value == fork.status.value == "ok"
    assert len(nb.pngs) == len(fork.pngs) == 1
