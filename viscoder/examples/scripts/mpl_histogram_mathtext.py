"""Histogram with a fitted density and a mathtext label."""
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(2)
samples = rng.normal(3.0, 1.2, 2000)
grid = np.linspace(-2, 8, 200)
density = np.exp(-((grid - 3.0) ** 2) / (2 * 1.2**2)) / (1.2 * np.sqrt(2 * np.pi))
plt.hist(samples, bins=40, density=True, alpha=0.6, color="tab:green")
plt.plot(grid, density, "k-", lw=2, label=r"$\mathcal{N}(\mu=3, \sigma=1.2)$")
plt.legend()
plt.title("Sample histogram")
plt.show()
