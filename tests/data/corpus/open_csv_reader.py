import csv
import matplotlib.pyplot as plt

temps, hours = [], []
with open("D:/logger/export_2019.csv", newline="") as f:
    reader = csv.reader(f, delimiter=";")
    next(reader)  # header
    for row in reader:
        hours.append(float(row[0]))
        temps.append(float(row[3]))

print("last reading:", temps[-1])
plt.plot(hours, temps, "r-")
plt.xlabel("hour")
plt.ylabel("temperature (C)")
plt.title("Logger temperature")
plt.show()
