#!/usr/bin/env python
# coding: utf-8

# In[1]:


get_ipython().system('pip install seaborn')
%matplotlib inline
%config InlineBackend.figure_format = 'retina'
import numpy as np
import matplotlib.pyplot as plt


# In[2]:


!ls -la data/
samples = np.random.default_rng(1).normal(170, 8, 500)
samples?


# In[3]:


%%time
counts, edges, _ = plt.hist(samples, bins=25, color="slateblue", alpha=0.8)
plt.axvline(samples.mean(), color="k", linestyle="--", label="mean")
plt.legend()
plt.title("Heights of 500 people")
