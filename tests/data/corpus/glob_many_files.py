import glob
import pandas as pd
import matplotlib.pyplot as plt

finals = []
for path in sorted(glob.glob("/mnt/results/run_*/metrics.csv")):
    run = pd.read_csv(path)
    finals.append(run["accuracy"].values[-1])
    plt.plot(run["epoch"], run["accuracy"], alpha=0.5)

plt.title("Accuracy of %d runs, best final %.2f" % (len(finals), max(finals)))
plt.xlabel("epoch")
plt.show()
