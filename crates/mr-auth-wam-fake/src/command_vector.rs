//! [`FakeVector`]: the `IVector<T>` of `AccountsSettingsPaneCommandsRequestedEventArgs.
//! WebAccountProviderCommands`, where the module's handler adds its commands for the pane
//! to read afterwards.

use std::sync::{Mutex, MutexGuard};
use windows_collections::{
    IIterable, IIterable_Impl, IIterator, IVector, IVectorView, IVector_Impl,
};
use windows_core::{implement, Error, Ref, Result, RuntimeType, HRESULT};

/// `E_BOUNDS`: an index past the end.
const E_BOUNDS: HRESULT = HRESULT(0x8000_000B_u32 as i32);

#[implement(IVector<T>, IIterable<T>)]
pub(crate) struct FakeVector<T>
where
    T: RuntimeType + 'static,
    T::Default: Clone + PartialEq,
{
    values: Mutex<Vec<T::Default>>,
}

impl<T> FakeVector<T>
where
    T: RuntimeType + 'static,
    T::Default: Clone + PartialEq,
{
    /// An empty vector.
    pub(crate) fn create() -> IVector<T> {
        Self {
            values: Mutex::new(Vec::new()),
        }
        .into()
    }
}

impl<T> FakeVector_Impl<T>
where
    T: RuntimeType + 'static,
    T::Default: Clone + PartialEq,
{
    fn lock(&self) -> MutexGuard<'_, Vec<T::Default>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

fn size(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl<T> IIterable_Impl<T> for FakeVector_Impl<T>
where
    T: RuntimeType + 'static,
    T::Default: Clone + PartialEq,
{
    fn First(&self) -> Result<IIterator<T>> {
        // Iterates over a snapshot, like the property maps.
        IVectorView::<T>::from(self.lock().clone()).First()
    }
}

impl<T> IVector_Impl<T> for FakeVector_Impl<T>
where
    T: RuntimeType + 'static,
    T::Default: Clone + PartialEq,
{
    fn GetAt(&self, i: u32) -> Result<T> {
        let values = self.lock();
        let item = values.get(index(i)).ok_or_else(|| Error::from(E_BOUNDS))?;
        T::from_default(item)
    }

    fn Size(&self) -> Result<u32> {
        Ok(size(self.lock().len()))
    }

    fn GetView(&self) -> Result<IVectorView<T>> {
        Ok(IVectorView::from(self.lock().clone()))
    }

    fn IndexOf(&self, value: Ref<T>, found: &mut u32) -> Result<bool> {
        match self.lock().iter().position(|v| v == &*value) {
            Some(i) => {
                *found = size(i);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn SetAt(&self, i: u32, value: Ref<T>) -> Result<()> {
        let mut values = self.lock();
        let slot = values
            .get_mut(index(i))
            .ok_or_else(|| Error::from(E_BOUNDS))?;
        *slot = (*value).clone();
        Ok(())
    }

    fn InsertAt(&self, i: u32, value: Ref<T>) -> Result<()> {
        let mut values = self.lock();
        if index(i) > values.len() {
            return Err(E_BOUNDS.into());
        }
        values.insert(index(i), (*value).clone());
        Ok(())
    }

    fn RemoveAt(&self, i: u32) -> Result<()> {
        let mut values = self.lock();
        if index(i) >= values.len() {
            return Err(E_BOUNDS.into());
        }
        values.remove(index(i));
        Ok(())
    }

    fn Append(&self, value: Ref<T>) -> Result<()> {
        self.lock().push((*value).clone());
        Ok(())
    }

    fn RemoveAtEnd(&self) -> Result<()> {
        self.lock()
            .pop()
            .map(|_| ())
            .ok_or_else(|| Error::from(E_BOUNDS))
    }

    fn Clear(&self) -> Result<()> {
        self.lock().clear();
        Ok(())
    }

    fn GetMany(&self, start: u32, items: &mut [T::Default]) -> Result<u32> {
        let values = self.lock();
        let start = index(start);
        if start >= values.len() {
            return Ok(0);
        }
        let count = std::cmp::min(values.len() - start, items.len());
        items[..count].clone_from_slice(&values[start..start + count]);
        Ok(size(count))
    }

    fn ReplaceAll(&self, items: &[T::Default]) -> Result<()> {
        *self.lock() = items.to_vec();
        Ok(())
    }
}
