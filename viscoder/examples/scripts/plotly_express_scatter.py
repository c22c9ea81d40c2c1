"""plotly express scatter with facets, written to a PNG file."""
import numpy as np
import pandas as pd
import plotly.express as px

rng = np.random.default_rng(7)
df = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200),
                   "group": rng.choice(["control", "treated"], 200)})
fig = px.scatter(df, x="x", y="y", color="group", facet_col="group", title="Two groups")
fig.write_image("groups.png")
