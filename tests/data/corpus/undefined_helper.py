import matplotlib.pyplot as plt
from mylib.stats import compute_curve

x, y = compute_curve(100)
plt.plot(x, y)
plt.show()
