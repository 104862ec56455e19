import t from 'tap'
import { FileSystemStorage, MemoryStorage } from '../lib/index.js'
import { tempDir } from './helpers.js'
import { storageContract } from './storage-contract.js'

storageContract(t, 'FileSystemStorage', async (t) => new FileSystemStorage({ location: tempDir(t), baseUrl: '/media/' }), { boundedMemory: true })
storageContract(t, 'MemoryStorage', async () => new MemoryStorage(), { boundedMemory: false })
