"""Scatter coloured by a third variable, with a colour bar and annotations."""
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(1)
x, y = rng.normal(size=300), rng.normal(size=300)
z = np.hypot(x, y)
plt.figure(figsize=(6, 5))
points = plt.scatter(x, y, c=z, cmap="viridis", s=25, edgecolor="k", linewidth=0.3)
plt.colorbar(points, label="distance from origin")
plt.annotate("origin", xy=(0, 0), xytext=(1.5, 2), arrowprops={"arrowstyle": "->"})
plt.title("Gaussian cloud")
