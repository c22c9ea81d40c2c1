import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

scores = pd.read_csv("league/scores.csv")
fig = make_subplots(rows=2, cols=2, specs=[[{"type": "table"}] * 2] * 2)
for k, season in enumerate(["2019", "2020", "2021", "2022"]):
    part = scores[scores["season"] == season]
    fig.add_trace(go.Table(header=dict(values=["team", "points"]),
                           cells=dict(values=[part["team"], part["points"]])),
                  row=k // 2 + 1, col=k % 2 + 1)
fig.update_layout(title_text="League tables per season")
fig.write_html("tables.html")
