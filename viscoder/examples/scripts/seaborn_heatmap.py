"""Correlation heat map with annotations."""
import numpy as np
import pandas as pd
import seaborn as sns

rng = np.random.default_rng(5)
df = pd.DataFrame(rng.normal(size=(200, 6)), columns=list("ABCDEF"))
df["G"] = df["A"] * 0.8 + rng.normal(scale=0.3, size=200)
ax = sns.heatmap(df.corr(), annot=True, fmt=".2f", cmap="coolwarm", vmin=-1, vmax=1)
ax.set_title("Correlation matrix")
