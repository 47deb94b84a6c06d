//! [`FakeStringMap`]: the `IMap<String, String>` of `WebTokenRequest.Properties`,
//! `WebTokenResponse.Properties` and the other property bags.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
};
use windows_collections::{
    IIterable, IIterable_Impl, IIterator, IKeyValuePair, IMap, IMapView, IMap_Impl,
};
use windows_core::{implement, Error, Ref, Result, HSTRING};

/// `E_BOUNDS`: `Lookup` of a missing key.
const E_BOUNDS: windows_core::HRESULT = windows_core::HRESULT(0x8000_000B_u32 as i32);

#[implement(IMap<HSTRING, HSTRING>, IIterable<IKeyValuePair<HSTRING, HSTRING>>)]
pub(crate) struct FakeStringMap(Mutex<BTreeMap<HSTRING, HSTRING>>);

impl FakeStringMap {
    /// A map holding `entries`.
    pub(crate) fn create<'a>(
        entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> IMap<HSTRING, HSTRING> {
        Self(Mutex::new(
            entries
                .into_iter()
                .map(|(k, v)| (HSTRING::from(k), HSTRING::from(v)))
                .collect(),
        ))
        .into()
    }

    /// Every entry of `map`, read through its interface (any `IMap<String, String>`).
    pub(crate) fn entries(map: &IMap<HSTRING, HSTRING>) -> Result<BTreeMap<String, String>> {
        let mut entries = BTreeMap::new();
        for pair in map {
            entries.insert(
                pair.Key()?.to_string_lossy(),
                pair.Value()?.to_string_lossy(),
            );
        }
        Ok(entries)
    }
}

impl FakeStringMap_Impl {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<HSTRING, HSTRING>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl IIterable_Impl<IKeyValuePair<HSTRING, HSTRING>> for FakeStringMap_Impl {
    fn First(&self) -> Result<IIterator<IKeyValuePair<HSTRING, HSTRING>>> {
        // Iterates over a snapshot, as WinRT's own maps do for a map changed while iterated.
        IMapView::<HSTRING, HSTRING>::from(self.lock().clone()).First()
    }
}

impl IMap_Impl<HSTRING, HSTRING> for FakeStringMap_Impl {
    fn Lookup(&self, key: Ref<HSTRING>) -> Result<HSTRING> {
        self.lock()
            .get(&*key)
            .cloned()
            .ok_or_else(|| Error::from_hresult(E_BOUNDS))
    }

    fn Size(&self) -> Result<u32> {
        Ok(u32::try_from(self.lock().len()).unwrap_or(u32::MAX))
    }

    fn HasKey(&self, key: Ref<HSTRING>) -> Result<bool> {
        Ok(self.lock().contains_key(&*key))
    }

    fn GetView(&self) -> Result<IMapView<HSTRING, HSTRING>> {
        Ok(IMapView::from(self.lock().clone()))
    }

    fn Insert(&self, key: Ref<HSTRING>, value: Ref<HSTRING>) -> Result<bool> {
        Ok(self
            .lock()
            .insert((*key).clone(), (*value).clone())
            .is_some())
    }

    fn Remove(&self, key: Ref<HSTRING>) -> Result<()> {
        self.lock().remove(&*key);
        Ok(())
    }

    fn Clear(&self) -> Result<()> {
        self.lock().clear();
        Ok(())
    }
}
