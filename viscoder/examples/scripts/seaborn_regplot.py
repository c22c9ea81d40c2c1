"""Scatter with a regression line and confidence band, by category."""
import numpy as np
import pandas as pd
import seaborn as sns

rng = np.random.default_rng(6)
n = 150
df = pd.DataFrame({"x": rng.uniform(0, 10, n), "kind": rng.choice(["red", "blue"], n)})
df["y"] = 2 * df["x"] + np.where(df["kind"] == "red", 5, 0) + rng.normal(0, 3, n)
grid = sns.lmplot(data=df, x="x", y="y", hue="kind", height=4, aspect=1.4)
grid.set_axis_labels("dose", "response")
