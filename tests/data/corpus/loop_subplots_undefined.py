import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(12, 3))
for ax, (name, series) in zip(axes, results.items()):
    ax.plot(series)
    ax.set_title(name)
fig.tight_layout()
