import matplotlib.pyplot as plt
import numpy as np

# the same figure, written by someone else
t = np.linspace(0, 20, 300)
fig, axis = plt.subplots(figsize=(8, 5))
v = np.sin(t) * np.exp(-t / 5)
axis.plot(t, v, color="blue", label="signal")
axis.set_xlabel("t")
axis.set_title("A damped wave")
axis.set_ylabel("value")
axis.legend()
axis.grid(True)
plt.show()
