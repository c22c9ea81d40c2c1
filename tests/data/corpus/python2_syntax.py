import matplotlib.pyplot as plt
print "plotting"
plt.plot([1, 2, 3])
