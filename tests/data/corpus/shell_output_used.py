import matplotlib.pyplot as plt

sizes = !du -s data/* | cut -f1
plt.bar(range(len(sizes)), [int(s) for s in sizes])
plt.show()
