"""The jailed plotly renderer against hostile figures, in both kaleido generations: host files
never reach a PNG, no request leaves it, budgets bound it, and normal figures still render.

Each generation's render process is started once per module with its own uid (when run as
root) so that its processes can be found and checked; the jail is tested directly by sending
raw, unsanitised JSON to it."""

import base64
import http.server
import io
import json
import os
import sys
import threading
import time
import types
import urllib.error
import urllib.request

import pytest

from tests.support.paths import REPO
from tests.support.processes import wait_for
from viscoder.sandbox.png import check_png
from viscoder.sandbox.render import (
    RenderBudget,
    RenderBudgetExceeded,
    RenderError,
    get_render_process,
    render_plotly_png,
)
from viscoder.sandbox.render_sanitize import sanitize_figure
from viscoder.sandbox.render_server import BANNED_FLAGS
from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

Image = pytest.importorskip("PIL.Image")
UIDS = {"kaleido1": 60990, "kaleido0": 60991}
ROOT = os.geteuid() == 0


def _python(generation):
    name = "default" if generation == "kaleido1" else "pandasplotbench"
    try:
        return str(get_runtime(name).python)
    except RuntimeUnavailable as exc:
        if generation == "kaleido1":
            return sys.executable  # the project's own environment has kaleido 1.x as well
        pytest.skip(f"runtime {name!r} not built: {exc}")


def _config(generation):
    return types.SimpleNamespace(isolation="auto", sandbox_uid_base=UIDS[generation] + 1,
                                 render_max_side=4096, runtime=None)


@pytest.fixture(scope="module", params=["kaleido1", "kaleido0"])
def gen(request):
    """(generation, python, config, warm render process) or a clean skip."""
    generation = request.param
    python = _python(generation)
    config = _config(generation)
    proc = get_render_process(python, uid=UIDS[generation])
    try:
        render_plotly_png(figure("bar"), config=config, python=python)
    except RenderError as exc:
        if "found no Chromium" in str(exc) or "Operation not permitted" in str(exc):
            pytest.skip(f"the renderer's jail or browser is not available here: {exc}")
        raise
    expected = "kaleido 1." if generation == "kaleido1" else "kaleido 0.2"
    assert proc.info["engine"].startswith(expected), proc.info
    yield generation, python, config, proc
    proc.close()


def figure(kind, **layout):
    traces = {
        "bar": {"type": "bar", "x": ["a", "b", "c"], "y": [3, 1, 2]},
        "scatter": {"type": "scatter", "x": [1, 2, 3, 4], "y": [4, 1, 3, 2], "mode": "lines+markers"},
        "heatmap": {"type": "heatmap", "z": [[1, 2, 3], [3, 2, 1], [2, 3, 1]]},
    }
    return json.dumps({"data": [traces[kind]], "layout": layout})


def red_pixels(png):
    with Image.open(io.BytesIO(png)) as im:
        colors = im.convert("RGB").getcolors(1 << 24)
    return sum(n for n, (r, g, b) in colors if r > 200 and g < 60 and b < 60)


def render_raw(proc, fig_json, timeout_s=90):
    """Straight to the jailed process, without the sanitiser: PNG bytes or the error text."""
    clean = sanitize_figure(fig_json)  # only for the output size
    try:
        return proc.render(fig_json.encode(), clean.width, clean.height, timeout_s)
    except RenderError as exc:
        return str(exc)


def jail_pids(uid):
    """Processes running as ``uid`` (the render process's own, when started as root)."""
    out = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/status") as fh:
                status = fh.read()
        except (OSError, ValueError):
            continue
        if entry.isdigit() and f"\nUid:\t{uid}\t" in status:
            out.append(int(entry))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("kind", ["bar", "scatter", "heatmap"])
def test_normal_figures_render(gen, kind):
    _, python, config, _ = gen
    budget = RenderBudget(seconds=120, pixels=10**8)
    png = render_plotly_png(figure(kind, width=640, height=480), config=config, budget=budget,
                            python=python)
    assert check_png(png) == (640, 480)
    with Image.open(io.BytesIO(png)) as im:
        assert len(im.convert("RGB").getcolors(1 << 20)) > 10  # drawn, not a blank canvas
    assert 0 < budget.seconds < 120 and budget.pixels == 10**8 - 640 * 480


def test_host_file_never_reaches_the_png(gen, tmp_path):
    _, python, config, proc = gen
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(buf, "PNG")
    secret = tmp_path / "root-only.png"
    secret.write_bytes(buf.getvalue())
    secret.chmod(0o600)

    def with_image(src):
        return json.dumps({"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}],
                           "layout": {"images": [{"source": src, "xref": "paper", "yref": "paper",
                                                  "x": 0, "y": 1, "sizex": 1, "sizey": 1,
                                                  "sizing": "stretch", "layer": "above"}]}})

    # Control: the same image as a data: URL is drawn, and the detector sees it.
    data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    assert red_pixels(render_plotly_png(with_image(data_url), config=config, python=python)) > 1000
    hostile = with_image(secret.as_uri())
    sanitised = render_plotly_png(hostile, config=config, python=python)
    assert red_pixels(sanitised) == 0
    raw = render_raw(proc, hostile)  # the jail alone: the file is not in the renderer's world
    assert isinstance(raw, str) or red_pixels(raw) == 0


@pytest.mark.skipif(not ROOT, reason="inspects the jail through /proc/PID/root (root only)")
def test_jail_view_has_no_host_files_no_network_and_no_unsafe_flags(gen, tmp_path):
    generation, _, _, proc = gen
    pids = jail_pids(UIDS[generation])
    servers = [p for p in pids if "render_server.py" in cmdline(p)]
    assert servers, "the jailed render server does not run as its own uid"
    browsers = [p for p in pids if "kaleido" in cmdline(p) or "chrom" in cmdline(p)]
    assert browsers, [cmdline(p) for p in pids]
    for pid in pids:
        assert not any(flag in cmdline(pid) for flag in BANNED_FLAGS), cmdline(pid)
    (tmp_path / "host.txt").write_text("host")
    root = f"/proc/{servers[0]}/root"
    for host_path in (tmp_path / "host.txt", REPO / "viscoder" / "sandbox" / "render.py"):
        assert host_path.exists() and not os.path.exists(f"{root}{host_path}"), host_path
    assert os.path.exists(f"{root}/usr/lib")  # the view is the jail's, not an empty path
    with open(f"/proc/{servers[0]}/net/dev") as fh:
        interfaces = {line.split(":")[0].strip() for line in fh.read().splitlines()[2:]}
    assert interfaces == {"lo"}


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Counter.hits
    server.shutdown()
    server.server_close()


def test_no_request_leaves_the_renderer(gen, loopback_server):
    _, python, config, proc = gen
    base, hits = loopback_server
    try:  # control: the server counts what reaches it
        urllib.request.urlopen(f"{base}/control", timeout=10)
    except urllib.error.HTTPError:
        pass
    assert hits == ["/control"]
    hits.clear()
    figures = [
        {"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}],
         "layout": {"images": [{"source": f"{base}/x.png", "xref": "paper", "yref": "paper",
                                "x": 0, "y": 1, "sizex": 1, "sizey": 1}]}},
        {"data": [{"type": "scattermapbox", "lat": [45], "lon": [5]}],
         "layout": {"mapbox": {"style": f"{base}/style.json", "layers": [
             {"sourcetype": "raster", "source": [f"{base}/tiles/{{z}}/{{x}}/{{y}}.png"]}]}}},
        {"data": [{"type": "choroplethmapbox", "geojson": f"{base}/shapes.geojson",
                   "locations": ["a"], "z": [1]}], "layout": {"mapbox": {"style": "white-bg"}}},
    ]
    for fig in figures:
        render_raw(proc, json.dumps(fig))
        try:
            render_plotly_png(json.dumps(fig), config=config, python=python)
        except RenderError:
            pass  # a map the offline browser cannot draw is an error, never a request
    assert hits == []


def heavy_figure(points=5000):
    return json.dumps({"data": [{"type": "scatter", "mode": "markers+text", "x": list(range(points)),
                                 "y": [(i * 7919) % 1000 for i in range(points)],
                                 "text": [str(i) for i in range(points)]} for _ in range(4)]})


def test_over_budget_figure_is_bounded_and_the_renderer_restarts(gen):
    generation, python, config, proc = gen
    budget = RenderBudget(seconds=0.5, pixels=10**9)
    starts = proc.starts
    start = time.monotonic()
    with pytest.raises(RenderBudgetExceeded, match="render budget exceeded"):
        render_plotly_png(heavy_figure(), config=config, budget=budget, python=python)
    assert time.monotonic() - start < 0.5 + 30  # a bound, not a speed: the kill came
    assert budget.seconds == 0 and "render time" in budget.exceeded
    if ROOT:  # the whole browser went with the killed server
        wait_for(lambda: not jail_pids(UIDS[generation]), 30, "the killed renderer's processes to go")
    with pytest.raises(RenderBudgetExceeded):  # nothing more for this script
        render_plotly_png(figure("bar"), config=config, budget=budget, python=python)
    png = render_plotly_png(figure("bar"), config=config, python=python)  # a fresh budget
    assert check_png(png) and proc.starts == starts + 1


def test_pixel_budget_refuses_without_rendering(gen):
    _, python, config, proc = gen
    budget = RenderBudget(seconds=120, pixels=700 * 500 + 1)
    check_png(render_plotly_png(figure("bar"), config=config, budget=budget, python=python))
    starts = proc.starts
    with pytest.raises(RenderBudgetExceeded, match="700x500 figure with 1 pixels left"):
        render_plotly_png(figure("scatter"), config=config, budget=budget, python=python)
    with pytest.raises(RenderBudgetExceeded):
        render_plotly_png(figure("bar", width=100, height=100), config=config, budget=budget,
                          python=python)
    assert proc.starts == starts


def test_sandbox_charges_each_script_its_own_render_budget():
    from viscoder.sandbox import Sandbox, SandboxConfig, WorkerUnavailable

    code = ("import plotly.express as px\n"
            "for k in range(3):\n    px.bar(x=[1, 2, 3], y=[k, 2, 1]).show()\n")
    config = SandboxConfig(timeout_s=30, render_budget_pixels=2 * 700 * 500)
    try:
        with Sandbox(config) as sb:
            first, second = sb.run(code, task_id="a"), sb.run(code, task_id="b")
    except WorkerUnavailable as exc:
        pytest.skip(f"no sandbox worker here: {exc}")
    for res in (first, second):  # the budget is per script: the second run starts afresh
        assert res.status.value == "ok", (res.status, res.error_message)
        assert [f.png is not None for f in res.figures] == [True, True, False], [
            f.render_error for f in res.figures]
        assert "render budget exceeded" in res.figures[2].render_error


def test_the_browser_comes_from_kaleidos_own_discovery(monkeypatch, tmp_path):
    from viscoder.sandbox.render import RenderProcess

    python = _python("kaleido1")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chrome"))
    proc = RenderProcess(python, uid=60992)
    try:  # BROWSER_PATH (kaleido/choreographer's override) is what the renderer tried
        with pytest.raises(RenderError, match="no-such-chrome"):
            proc.render(b'{"data": []}', 100, 100, 60)
    finally:
        proc.close()


def test_geo_figures_draw_offline_with_the_fetched_outlines(gen):
    from viscoder.sandbox import render_topojson

    _, python, config, proc = gen
    if render_topojson.available() is None:
        pytest.skip("map outlines not fetched (python -m viscoder.sandbox.render_topojson fetch)")
    fig = {"data": [{"type": "choropleth", "locations": ["FRA", "BRA", "IND"], "z": [1, 2, 3]}]}
    png = render_plotly_png(json.dumps(fig), config=config, python=python)  # else: topojson error
    assert check_png(png) == (700, 500)
    assert proc.info["isolation"]["map_outlines"] is True
