"""newswatch: scheduled news monitoring."""
