import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 10, 100)
y = np.sin(x) * np.exp(-x / 5)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(x, y, color="red", label="damped")
ax.set_title("Damped sine")
ax.set_xlabel("time")
ax.set_ylabel("amplitude")
ax.legend()
ax.grid(True)
plt.show()
