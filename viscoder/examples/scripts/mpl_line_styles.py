"""Damped oscillations with styled lines, a legend and a grid."""
import matplotlib.pyplot as plt
import numpy as np

t = np.linspace(0, 10, 400)
fig, ax = plt.subplots(figsize=(7, 4))
for k, damping in enumerate([0.1, 0.3, 0.6]):
    ax.plot(t, np.exp(-damping * t) * np.cos(2 * t), lw=2, ls=["-", "--", ":"][k],
            label=f"damping={damping}")
ax.set(xlabel="time [s]", ylabel="amplitude", title="Damped oscillators")
ax.grid(alpha=0.3)
ax.legend()
plt.show()
