import numpy as np
import matplotlib.pyplot as plt


def plot_distribution(values, bins=20, title="Distribution"):
    fig, ax = plt.subplots()
    ax.hist(values, bins=bins, color="darkorange", edgecolor="black")
    ax.set_title(title)
    ax.set_ylabel("count")
    return fig
