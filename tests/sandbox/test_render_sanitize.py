"""The figure sanitiser on its own (no browser): every URL but data: goes, sizes are bounded,
and what is not a figure is refused with a reason."""

import json

import pytest

from viscoder.sandbox import render_sanitize
from viscoder.sandbox.render_sanitize import FigureRefused, sanitize_figure

DATA_PNG = "data:image/png;base64,iVBORw0KGgo="


def clean(fig, **kw):
    return sanitize_figure(json.dumps(fig), **kw)


def all_strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from all_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_strings(value)


def test_layout_image_sources_other_than_data_urls_are_removed():
    fig = {"data": [{"type": "bar", "y": [1]}], "layout": {"images": [
        {"source": "file:///root/secret.png"}, {"source": "http://127.0.0.1:9/x.png"},
        {"source": "secret.png"}, {"source": " //169.254.169.254/latest"},
        {"source": DATA_PNG}]}}
    out = clean(fig)
    assert [img.get("source") for img in out.figure["layout"]["images"]] == [None] * 4 + [DATA_PNG]
    assert len([p for p in out.removed if p.endswith(".source")]) == 4


def test_urls_anywhere_plotly_fetches_them_are_removed():
    fig = {
        "data": [
            {"type": "choroplethmapbox", "geojson": "https://example.com/a.geojson",
             "locations": ["a"], "z": [1]},
            {"type": "image", "source": "file:///etc/shadow"},
            {"type": "sankey", "link": {"source": [0, 1], "target": [1, 2], "value": [1, 1]}},
        ],
        "layout": {
            "mapbox": {"style": "http://127.0.0.1:9/style.json", "accesstoken": "pk.secret",
                       "layers": [{"sourcetype": "raster", "source": ["http://t/{z}/{x}/{y}.png"]},
                                  {"sourcetype": "geojson", "source": "http://t/layer.json"},
                                  {"sourcetype": "geojson", "source": {"type": "FeatureCollection",
                                                                       "features": []}}]},
            "map": {"style": {"version": 8, "sources": {"t": {"type": "raster",
                                                                 "tiles": ["http://t/{z}.png"]}}}},
            "template": {"layout": {"images": [{"source": "file:///root/t.png"}]}},
            "title": {"text": '<span style="fill:url(http://127.0.0.1:9/p.svg#x)">t</span>'},
            "annotations": [{"text": "<span style='fill:\\75rl(http://x/y)'>a</span>"},
                            {"text": "see https://example.com (a plain label stays)"}],
        },
        "config": {"topojsonURL": "http://127.0.0.1:9/", "mapboxAccessToken": "pk.secret"},
        "frames": [{"layout": {"images": [{"source": "http://x/y.png"}]}}],
    }
    out = clean(fig)
    strings = list(all_strings(out.figure))
    fetchable = [s for s in strings if "http://" in s or "file://" in s or "url(" in s]
    assert fetchable == [], fetchable
    assert "pk.secret" not in strings
    assert set(out.figure) == {"data", "layout"}
    layout = out.figure["layout"]
    assert layout["mapbox"]["style"] == layout["map"]["style"] == "white-bg"
    assert layout["mapbox"]["layers"][2]["source"]["type"] == "FeatureCollection"  # inline stays
    assert out.figure["data"][2]["link"]["source"] == [0, 1]  # sankey indices are not URLs
    assert layout["annotations"][1]["text"].startswith("see https://example.com")
    assert "config" in out.removed and "frames" in out.removed


def test_map_subplots_without_a_style_are_pinned_to_the_offline_style():
    fig = {"data": [{"type": "scattermapbox", "lat": [1], "lon": [2]},
                    {"type": "scattermap", "lat": [1], "lon": [2], "subplot": "map2"},
                    {"type": "heatmap", "z": [[1, 2]]}, {"type": "treemap", "labels": ["a"]}],
           "layout": {"mapbox": {"style": "open-street-map"}}}
    layout = clean(fig).figure["layout"]
    assert layout["mapbox"]["style"] == "white-bg"
    assert layout["map2"]["style"] == "white-bg"
    assert "map" not in layout  # heatmap and treemap are not map traces


@pytest.mark.parametrize(("layout", "size"), [
    ({}, (700, 500)),
    ({"width": 300, "height": 200}, (300, 200)),
    ({"width": 10**9, "height": 10**9}, (4096, 4096)),
    ({"width": -5, "height": True}, (700, 500)),
    ({"width": 1, "height": 3.5}, (10, 10)),
    ({"template": {"layout": {"width": 900, "height": 600}}}, (900, 600)),
])
def test_output_size_is_bounded(layout, size):
    out = clean({"data": [], "layout": layout})
    assert (out.width, out.height) == size
    assert (out.figure["layout"]["width"], out.figure["layout"]["height"]) == size
    assert out.pixels == size[0] * size[1]


def test_max_side_is_a_parameter():
    out = clean({"layout": {"width": 5000, "height": 300}}, max_side=1000)
    assert (out.width, out.height) == (1000, 300)


@pytest.mark.parametrize(("payload", "reason"), [
    ("not json", "not valid JSON"),
    ("[1, 2]", "not an object"),
    ('{"data": {"type": "bar"}}', "no list of traces"),
    ('{"layout": []}', "no list of traces"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
    (json.dumps({"layout": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
        ]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}), "deeper than"),
])
def test_what_is_not_a_figure_is_refused_with_a_reason(payload, reason):
    with pytest.raises(FigureRefused, match=reason):
        sanitize_figure(payload)


def test_oversized_json_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(render_sanitize, "MAX_JSON_CHARS", 1000)
    with pytest.raises(FigureRefused, match="exceeds the bound"):
        sanitize_figure(json.dumps({"data": [{"type": "bar", "y": list(range(1000))}]}))
