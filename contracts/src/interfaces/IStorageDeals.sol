// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import { ICredits } from "./ICredits.sol";
import { IProviderRegistry } from "./IProviderRegistry.sol";

/// @title IStorageDeals
/// @notice Storage deals (docs/storage-spec.md section 3): an owner pays up front, in credits, for
/// `periods` proving periods of every shard of an erasure-coded object; each shard's provider proves
/// once per period, inside a block window, that it still holds a leaf chosen by a block hash, and
/// earns one period's payment per proof. A missed period slashes the provider and marks the shard
/// Lost; anyone may hand a Lost shard to a new provider (repair), which is then paid from the escrow
/// left. At the end, what nobody earned goes back to the owner.
/// @dev Units: credits (6 decimals); `pricePerByteSecond` in 1e-18 credit units per byte per second.
/// The schedule counts blocks: period `p` (0-based) has its proving window at blocks
/// `[w_p, w_p + windowBlocks)` with `w_p = startBlock + (p + 1) * periodBlocks - windowBlocks`, and
/// its challenge is `keccak256(abi.encode(blockhash(w_p - 1), dealId, shardIndex, p)) % leafCount`.
interface IStorageDeals {
    /*//////////////////////////////////////////////////////////////
                                  TYPES
    //////////////////////////////////////////////////////////////*/

    enum DealState {
        None,
        Active,
        Ended
    }

    enum ShardState {
        None,
        Active,
        Lost,
        Ended
    }

    /// @notice The deal-wide terms of `createDeal`. Every provider's acceptance signs `deadline`,
    /// `pricePerByteSecond` and `periods` from here, and the contract's current `periodBlocks`.
    struct DealTerms {
        uint8 k; // data shards: any k rebuild the object (1 <= k <= shard count)
        uint32 pieceSize; // bytes of each shard per segment (a non-zero multiple of the 512-byte leaf)
        uint64 pricePerByteSecond; // 1e-18 credit units per byte per second
        uint32 periods; // proving periods paid for (1 .. 2^24 - 1)
        uint64 deadline; // block timestamp after which the acceptances are void
    }

    /// @notice One shard of `createDeal`.
    struct ShardSpec {
        address provider;
        bytes32 root; // Merkle root of the shard (docs/storage-spec.md section 2)
        uint64 size; // bytes (1 .. (2^32 - 1) * 512, about 2 TiB: the leaf count fits 32 bits)
        uint8 erasureIndex; // the Reed-Solomon piece index the shard holds
    }

    /// @notice What a provider signs (EIP-712) to take a shard, at creation or as a replacement.
    struct ShardAcceptance {
        address owner;
        uint256 dealId;
        uint16 shardIndex;
        bytes32 root;
        uint64 size;
        uint8 erasureIndex;
        uint64 pricePerByteSecond;
        uint32 periodBlocks;
        uint32 periods;
        uint64 deadline;
    }

    /// @notice One proof of `submitProofs`.
    struct Proof {
        uint256 dealId;
        uint16 shardIndex;
        uint32 period;
        bytes leaf; // the challenged leaf, 512 bytes (ShardMerkle.LEAF_SIZE)
        bytes32[] siblings; // bottom to top, none for promoted levels
    }

    /// @notice A deal: three storage slots.
    struct Deal {
        // slot 0: the schedule, read by every proof
        uint64 startBlock;
        uint32 periodBlocks;
        uint32 windowBlocks;
        uint32 periods;
        uint16 shardCount;
        uint8 k;
        DealState state;
        uint32 pieceSize;
        // slot 1
        address owner;
        uint96 escrow; // credits still held for this deal
        // slot 2
        uint64 pricePerByteSecond;
        uint96 deposited; // credits escrowed at creation
        uint96 paid; // credits paid to providers so far (refunded = deposited - paid - escrow)
    }

    /// @notice A shard of a deal: three storage slots. Slot 0 holds everything a proof reads and
    /// writes, the deal's schedule included (copied at creation; it never changes), so a proof loads
    /// two cold slots (this word and the root) and writes one.
    struct Shard {
        // slot 0
        uint32 nextPeriod; // the only period the shard can prove next (earlier ones proven or missed)
        uint24 unpaidPeriods; // proven periods not paid yet (paid by `settle`)
        ShardState state;
        uint32 leafCount;
        uint48 startBlock; // the deal's schedule
        uint32 periodBlocks;
        uint8 windowBlocks;
        uint24 periods;
        uint48 size; // bytes
        // slot 1
        bytes32 root;
        // slot 2
        address provider;
        uint64 paymentPerPeriod; // credits per proven period
        uint8 erasureIndex;
    }

    /*//////////////////////////////////////////////////////////////
                              CUSTOM ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @dev A constructor argument is the zero address.
    error StorageDealsZeroAddress();
    /// @dev An owner setter got a value outside its bounds.
    error StorageDealsInvalidParameter(bytes32 name, uint256 value);
    /// @dev `createDeal` with no shard or more than `maxShards`.
    error StorageDealsInvalidShardCount(uint256 count, uint256 maxShards);
    /// @dev `createDeal` needs one acceptance per shard.
    error StorageDealsAcceptanceCountMismatch(uint256 shards, uint256 acceptances);
    /// @dev A deal term is out of range (`field` names it: "k", "periods", "pieceSize").
    error StorageDealsInvalidTerms(bytes32 field, uint256 value);
    /// @dev A shard's `field` ("root", "size") is invalid.
    error StorageDealsInvalidShard(uint256 shardIndex, bytes32 field, uint256 value);
    /// @dev The acceptances' `deadline` has passed.
    error StorageDealsAcceptanceExpired(uint256 deadline, uint256 timestamp);
    /// @dev The acceptance is not `provider`'s signature of these terms.
    error StorageDealsInvalidAcceptance(uint256 shardIndex, address provider);
    /// @dev `provider` already used this replacement acceptance (`digest`).
    error StorageDealsAcceptanceUsed(bytes32 digest, address provider);
    /// @dev `provider` already holds a shard of the deal (or held the one being replaced).
    error StorageDealsDuplicateProvider(address provider);
    /// @dev `provider` is not active in the registry (unregistered, under-staked or jailed).
    error StorageDealsProviderNotActive(address provider);
    /// @dev The escrow of a deal does not fit 96 bits.
    error StorageDealsEscrowOverflow(uint256 amount);
    /// @dev No deal has this id.
    error StorageDealsUnknownDeal(uint256 dealId);
    /// @dev The deal has no shard `shardIndex`.
    error StorageDealsUnknownShard(uint256 dealId, uint256 shardIndex);
    /// @dev The deal was settled after its last period: nothing can change any more.
    error StorageDealsDealEnded(uint256 dealId);
    /// @dev The deal's last period has passed: its shards can no longer be replaced.
    error StorageDealsDealExpired(uint256 dealId, uint256 periods);
    /// @dev The caller is not the deal's owner.
    error StorageDealsNotOwner(uint256 dealId, address caller);
    /// @dev The deal has no period `period` (it has `periods`).
    error StorageDealsPeriodOutOfRange(uint256 dealId, uint256 period, uint256 periods);
    /// @dev A proof outside its window `[windowStart, windowEnd)`.
    error StorageDealsOutsideWindow(uint256 dealId, uint256 period, uint256 windowStart, uint256 windowEnd);
    /// @dev The shard is not Active (Lost, Ended).
    error StorageDealsShardNotActive(uint256 dealId, uint256 shardIndex, ShardState state);
    /// @dev `replaceShard` needs a Lost shard.
    error StorageDealsShardNotLost(uint256 dealId, uint256 shardIndex, ShardState state);
    /// @dev A proof for a period other than the shard's next: proven already, or an earlier one was missed.
    error StorageDealsPeriodNotNext(uint256 dealId, uint256 shardIndex, uint256 period, uint256 nextPeriod);
    /// @dev The leaf and siblings do not prove the challenged leaf against the shard's root.
    error StorageDealsInvalidProof(uint256 dealId, uint256 shardIndex, uint256 period, uint256 leafIndex);
    /// @dev `markMissed` before the period's window closed (at `windowEnd`).
    error StorageDealsWindowNotClosed(uint256 dealId, uint256 period, uint256 windowEnd);
    /// @dev `markMissed` for a period the shard proved.
    error StorageDealsPeriodProven(uint256 dealId, uint256 shardIndex, uint256 period);
    /// @dev The seed block's hash is not readable now (before `seedBlock + 1`, or over 256 blocks ago).
    error StorageDealsChallengeUnavailable(uint256 dealId, uint256 period, uint256 seedBlock);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev A deal started at `startBlock`; `escrow` credits were taken from `owner`.
    event DealCreated(
        uint256 indexed dealId,
        address indexed owner,
        uint8 k,
        uint16 shardCount,
        uint32 pieceSize,
        uint64 pricePerByteSecond,
        uint64 startBlock,
        uint32 periodBlocks,
        uint32 windowBlocks,
        uint32 periods,
        uint256 escrow
    );
    /// @dev Shard `shardIndex` of a new deal went to `provider`.
    event ShardAssigned(
        uint256 indexed dealId,
        uint16 indexed shardIndex,
        address indexed provider,
        bytes32 root,
        uint64 size,
        uint8 erasureIndex,
        uint64 paymentPerPeriod
    );
    /// @dev The shard proved `period`.
    event ShardProven(uint256 indexed dealId, uint16 shardIndex, uint32 period);
    /// @dev The shard's provider missed `period`: it was slashed `slashed` STOA and the shard is Lost.
    event ShardLost(uint256 indexed dealId, uint16 indexed shardIndex, address indexed provider, uint32 period, uint256 slashed);
    /// @dev A Lost shard went to `provider`, which can prove from `fromPeriod` on.
    event ShardReplaced(
        uint256 indexed dealId,
        uint16 indexed shardIndex,
        address indexed provider,
        address previousProvider,
        uint32 fromPeriod
    );
    /// @dev `settle` (or `markMissed`) paid `paid` credits to the deal's providers; `escrow` is left.
    event DealSettled(uint256 indexed dealId, uint256 paid, uint256 escrow);
    /// @dev The deal ended after its last period; `refund` credits went back to the owner.
    event DealEnded(uint256 indexed dealId, uint256 refund);
    /// @dev `account`'s object index is now deal `dealId`.
    event IndexSet(address indexed account, uint256 indexed dealId);
    /// @dev An owner parameter changed.
    event ParameterUpdated(bytes32 indexed name, uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                                 DEALS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates deal `nextDealId()` starting at this block and escrows
    /// `sum(paymentPerPeriod) * periods` credits from the caller, who owns the deal.
    /// @dev The caller needs that many credits. One to `maxShards` shards; `acceptances[i]` is the
    /// EIP-712 `ShardAcceptance` signature of `shards[i].provider` (an EOA, or an ERC-1271 contract)
    /// for this caller, the next deal id, shard index `i`, the shard's root, size and erasure index,
    /// the terms' price, periods and deadline, and the current `periodBlocks`. Every provider is active
    /// in the registry and appears once. `paymentPerPeriod = size * pricePerByteSecond * periodBlocks *
    /// secondsPerBlock / 1e18` (floored) per shard. Emits `ShardAssigned` per shard, then `DealCreated`.
    function createDeal(DealTerms calldata terms, ShardSpec[] calldata shards, bytes[] calldata acceptances)
        external
        returns (uint256 dealId);

    /// @notice Proves that shard `shardIndex` of `dealId` still holds its data in `period`: `leaf` is
    /// the challenged leaf (`challengeOf`) and `siblings` its Merkle path to the shard's root.
    /// @dev Anyone may submit. Only inside the period's window, only for the shard's next period
    /// (`getShard().nextPeriod`), only while the shard is Active. Credits the shard's provider with one
    /// period, paid at `settle`. Emits `ShardProven`.
    function submitProof(
        uint256 dealId,
        uint16 shardIndex,
        uint32 period,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) external;

    /// @notice `submitProof` for each of `proofs`, in one transaction (what the provider daemon sends
    /// each period). All or nothing: one invalid proof reverts the batch, so simulate it first.
    function submitProofs(Proof[] calldata proofs) external;

    /// @notice Reports that the shard did not prove `period`, whose window closed: slashes its provider
    /// `missedProofSlash` STOA in the registry (the caller gets the registry's reporter share), pays
    /// the provider its proven unpaid periods, and marks the shard Lost for a repairer to replace.
    /// @dev Anyone. The deal must not have ended (`settle` after the last period ends it). Emits
    /// `ShardLost` (and `DealSettled` when proven periods were paid).
    function markMissed(uint256 dealId, uint16 shardIndex, uint32 period) external;

    /// @notice Hands the Lost shard `shardIndex` of `dealId` to `provider`, which has signed a
    /// `ShardAcceptance` for the deal's owner, this deal id and shard index, the shard's root, size and
    /// erasure index, the deal's price, periodBlocks and periods, and `deadline`.
    /// @dev Anyone (repairers are permissionless). The provider must be active, not hold (or have held
    /// the Lost) shard of this deal, and the deal's last period must not have passed. The new provider
    /// proves from the current period on and earns the shard's payment per proven period from the
    /// escrow left. Each acceptance replaces once. Emits `ShardReplaced`.
    function replaceShard(uint256 dealId, uint16 shardIndex, address provider, uint64 deadline, bytes calldata acceptance)
        external;

    /// @notice Pays every shard's provider its proven, unpaid periods; once the last period's window
    /// has closed, also refunds what nobody earned to the owner and ends the deal.
    /// @dev Anyone. Emits `DealSettled`, and `DealEnded` when the deal ends.
    /// @return paid Credits paid to providers by this call.
    function settle(uint256 dealId) external returns (uint256 paid);

    /// @notice Points the caller's encrypted object index at deal `dealId` (0 clears it).
    /// @dev The caller must own the deal. Emits `IndexSet`.
    function setIndex(uint256 dealId) external;

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The credits ledger holding the escrow.
    function credits() external view returns (ICredits);

    /// @notice The provider registry (activity checks and slashing).
    function registry() external view returns (IProviderRegistry);

    /// @notice The deal id the next `createDeal` gets (ids start at 1).
    function nextDealId() external view returns (uint256);

    /// @notice The deal (all zero for an unknown id).
    function getDeal(uint256 dealId) external view returns (Deal memory);

    /// @notice A shard of a deal (all zero for an unknown one).
    function getShard(uint256 dealId, uint16 shardIndex) external view returns (Shard memory);

    /// @notice The leaf index challenged in `period` for the shard.
    /// @dev Reverts `StorageDealsChallengeUnavailable` outside the blocks where the seed block's hash
    /// is readable (from the window's first block to 256 blocks after the seed).
    function challengeOf(uint256 dealId, uint16 shardIndex, uint32 period) external view returns (uint256 leafIndex);

    /// @notice The period the current block is in: `(block.number - startBlock) / periodBlocks` (it
    /// reaches `periods` once the deal has run out).
    function currentPeriod(uint256 dealId) external view returns (uint256);

    /// @notice The blocks `[start, end)` of `period`'s proving window.
    function provingWindow(uint256 dealId, uint32 period) external view returns (uint256 start, uint256 end);

    /// @notice The deal holding `account`'s encrypted object index (0: none).
    function indexOf(address account) external view returns (uint256);

    /// @notice The EIP-712 digest a provider signs for `acceptance`.
    function acceptanceDigest(ShardAcceptance calldata acceptance) external view returns (bytes32);

    /// @notice Default blocks per proving period for new deals.
    function periodBlocks() external view returns (uint32);

    /// @notice Default window blocks (<= 255, < periodBlocks) for new deals.
    function windowBlocks() external view returns (uint32);

    /// @notice Seconds per block assumed when pricing a period.
    function secondsPerBlock() external view returns (uint32);

    /// @notice Most shards a deal may have (<= 256).
    function maxShards() external view returns (uint16);

    /// @notice STOA slashed from a provider per missed period.
    function missedProofSlash() external view returns (uint96);
}
