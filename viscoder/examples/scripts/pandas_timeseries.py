"""A pandas time series with a rolling mean, plotted through DataFrame.plot."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

idx = pd.date_range("2024-01-01", periods=180, freq="D")
df = pd.DataFrame({"visits": 100 + np.cumsum(np.random.default_rng(3).normal(0, 5, len(idx)))},
                  index=idx)
df["7-day mean"] = df["visits"].rolling(7).mean()
ax = df.plot(figsize=(8, 4), title="Daily visits")
ax.set_ylabel("visits")
plt.tight_layout()
