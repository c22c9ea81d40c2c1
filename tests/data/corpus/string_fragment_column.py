import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

houses = pd.read_csv("houses.csv")
for skewed in ["price", "lot_area"]:
    houses[skewed + "_log"] = np.log1p(houses[skewed])

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, col in zip(axes, ["price", "lot_area"]):
    ax.hist(houses[col + "_log"], bins=20, color="darkcyan")
    ax.set_title("log of " + col)
plt.show()
