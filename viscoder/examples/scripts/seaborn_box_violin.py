"""Seaborn box and violin plots of the same grouped data."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

rng = np.random.default_rng(4)
df = pd.DataFrame({"group": np.repeat(["A", "B", "C", "D"], 80),
                   "score": np.concatenate([rng.normal(m, 1, 80) for m in (1, 2, 1.5, 3)])})
sns.set_theme(style="whitegrid")
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
sns.boxplot(data=df, x="group", y="score", ax=axes[0])
sns.violinplot(data=df, x="group", y="score", ax=axes[1], inner="quart")
axes[0].set_title("Box plot")
axes[1].set_title("Violin plot")
