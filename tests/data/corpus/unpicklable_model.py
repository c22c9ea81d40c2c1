import pickle
import matplotlib.pyplot as plt

with open("model.pkl", "rb") as fh:
    model = pickle.load(fh)

plt.plot(model.history_["loss"])
plt.title("training loss")
plt.show()
