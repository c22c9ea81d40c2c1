#!/usr/bin/env python
# coding: utf-8

# In[1]:


import pandas as pd
import numpy as np
import matplotlib.pyplot as plt
get_ipython().run_line_magic('matplotlib', 'inline')


# In[2]:


df = pd.read_excel("survey.xlsx")
display(df.head())


# In[3]:


df.plot(x="year", y=["score", "satisfaction"], kind="line", marker="o")
plt.ylabel("points")
