import numpy as np
import matplotlib.pyplot as plt

t = np.linspace(0, 2 * np.pi, 200)
for k in range(1, 4):
    plt.plot(t, np.sin(k * t), label=f"k={k}")
plt.legend()
plt.xlabel("t")
plt.title("Harmonics")
plt.savefig("harmonics.pdf", dpi=300)
