"""Grouped bars and a stacked area in two panels."""
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
years = np.arange(2015, 2023)
a, b = rng.integers(20, 60, len(years)), rng.integers(10, 40, len(years))
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.bar(years - 0.2, a, width=0.4, label="product A", color="#4c72b0")
left.bar(years + 0.2, b, width=0.4, label="product B", color="#dd8452")
left.set_title("Units sold per year")
left.legend()
right.stackplot(years, a, b, labels=["A", "B"], alpha=0.8)
right.set_title("Cumulative share")
fig.tight_layout()
