import numpy as np
import matplotlib.pyplot as plt

data = np.loadtxt("/data/runs/spectrum_07.dat", delimiter=",", skiprows=1)
wavelength, flux = np.loadtxt("reference.txt", unpack=True, usecols=(0, 1))
table = np.genfromtxt("stations.csv", delimiter=",", names=True)

plt.figure(figsize=(8, 4))
plt.plot(data[:, 0], data[:, 4], label="measured")
plt.plot(wavelength, flux, "--", label="reference")
plt.scatter(table["lon"], table["lat"], s=8)
plt.legend()
plt.show()
