import numpy as np
import matplotlib.pyplot as plt
from matplotlib import patches


def zplane(b, a, title="Pole/zero plot"):
    zeros = np.roots(b)
    poles = np.roots(a)
    fig, ax = plt.subplots(figsize=(5, 5))
    unit = patches.Circle((0, 0), radius=1, fill=False, color="black", linestyle="dashed")
    ax.add_patch(unit)
    ax.scatter(zeros.real, zeros.imag, marker="o", facecolors="none", edgecolors="b", label="zeros")
    ax.scatter(poles.real, poles.imag, marker="x", color="r", label="poles")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend()
    return fig


def response(coefficients):
    x = np.linspace(-2, 2, 200)
    plt.plot(x, np.polyval(coefficients, x))
